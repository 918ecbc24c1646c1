Console.WriteLine("vblora-graph: not yet");
