Console.WriteLine("vblora-run: not yet");
