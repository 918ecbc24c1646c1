using VbLoraOrt.GraphBuilder.Cli;

return GraphCli.Run(args, Console.Out, Console.Error);
