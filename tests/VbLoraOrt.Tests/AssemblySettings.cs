// Tests share two CPU cores and ONNX Runtime sessions; run classes in parallel, methods within a class in order.
[assembly: Parallelize(Workers = 2, Scope = ExecutionScope.ClassLevel)]
