-- No WAL flush at commit (why each projection may: at its use).
SET LOCAL synchronous_commit = off
