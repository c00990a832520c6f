"""Floor 1: the PowerShell core (tokens, parser, AST, language modes, binder and command metadata,
objects, pipeline and streams, 5.1 formatting). It knows nothing of Azure Stack, sessions or screens."""
