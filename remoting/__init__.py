"""Floor 2: the remoting client (pypsrp) that reaches any PSRP endpoint: PSSessions, the wire
conversion of values, and the workstation's session list."""
