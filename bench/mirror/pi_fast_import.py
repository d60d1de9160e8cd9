"""Build a public-inbox v2 inbox's epoch 0 the way public-inbox stores it (one commit per
message, the raw message as file `m`) with git fast-import, from the bench maildir."""
import os, sys, subprocess, email.utils, time
md, gitdir = sys.argv[1], sys.argv[2]
files = sorted(os.listdir(os.path.join(md, "cur")))
p = subprocess.Popen(["git", "--git-dir", gitdir, "fast-import", "--quiet"], stdin=subprocess.PIPE)
w = p.stdin.write
t0 = 1577836800
for i, name in enumerate(files):
    raw = open(os.path.join(md, "cur", name), "rb").read()
    t = t0 + i
    who = b"bench <bench@example.org>"
    w(b"commit refs/heads/master\nmark :%d\n" % (i + 1))
    w(b"author %s %d +0000\ncommitter %s %d +0000\n" % (who, t, who, t))
    msg = b"message %d\n" % i
    w(b"data %d\n%s" % (len(msg), msg))
    if i:
        w(b"from :%d\n" % i)
    w(b"M 100644 inline m\ndata %d\n" % len(raw))
    w(raw)
    w(b"\n")
p.stdin.close()
sys.exit(p.wait())
