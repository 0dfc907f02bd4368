// msgpackr requires this inside try/catch and falls back to pure JS.
throw new Error('msgpackr-extract is not installed: chanmesh uses msgpackr in pure JS');
