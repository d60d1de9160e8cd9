"""Edge cases of bench/common/mbox2maildir.py. Run: python3 -m unittest bench/common/test_mbox2maildir.py"""

import io
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mbox2maildir as m  # noqa: E402


def split(data: bytes, fmt: str = "mboxrd") -> list[bytes]:
    return list(m.iter_messages(io.BytesIO(data), fmt))


class Split(unittest.TestCase):
    def test_envelope_and_separator_dropped(self):
        data = b"From a@b Mon Jan 1 00:00:00 2024\nSubject: x\n\nbody\n\nFrom c@d Tue\nSubject: y\n\nz\n"
        self.assertEqual(split(data), [b"Subject: x\n\nbody\n", b"Subject: y\n\nz\n"])

    def test_mboxrd_unquotes_one_level(self):
        data = b"From x\nS: 1\n\n>From here\n>>From there\n> From not\n>Fromage\n\n"
        self.assertEqual(split(data), [b"S: 1\n\nFrom here\n>From there\n> From not\n>Fromage\n"])

    def test_mboxo_unquotes_only_single(self):
        data = b"From x\nS: 1\n\n>From here\n>>From there\n\n"
        self.assertEqual(split(data, "mboxo"), [b"S: 1\n\nFrom here\n>>From there\n"])

    def test_crlf_kept(self):
        data = b"From x\r\nS: 1\r\n\r\nb\r\n\r\nFrom y\r\nS: 2\r\n\r\nc\r\n"
        self.assertEqual(split(data), [b"S: 1\r\n\r\nb\r\n", b"S: 2\r\n\r\nc\r\n"])

    def test_trailing_blank_lines_of_message_kept(self):
        # Message ends with an empty line; the writer added one more as separator.
        data = b"From x\nS: 1\n\nb\n\n\nFrom y\nS: 2\n\nc\n"
        self.assertEqual(split(data), [b"S: 1\n\nb\n\n", b"S: 2\n\nc\n"])

    def test_no_final_newline(self):
        self.assertEqual(split(b"From x\nS: 1\n\nb"), [b"S: 1\n\nb"])

    def test_not_an_mbox(self):
        with self.assertRaises(SystemExit):
            split(b"Subject: no envelope\n\nb\n")


class Convert(unittest.TestCase):
    def test_maildir_cache_and_check(self):
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "t.mbox")
            with open(src, "wb") as f:
                f.write(b"From a\nS: 1\n\n>From q\n\nFrom b\nS: 2\n\nx\n\n")
            dest = os.path.join(d, "md")
            r1 = m.convert(src, dest, "mboxrd", force=False)
            self.assertEqual((r1["messages"], r1["cached"]), (2, False))
            self.assertEqual(sorted(os.listdir(dest)), ["cur", "new", "tmp"])
            names = sorted(os.listdir(os.path.join(dest, "cur")))
            self.assertEqual(names, ["000001.trove-bench.t:2,", "000002.trove-bench.t:2,"])
            with open(os.path.join(dest, "cur", names[0]), "rb") as f:
                self.assertEqual(f.read(), b"S: 1\n\nFrom q\n")
            self.assertTrue(m.convert(src, dest, "mboxrd", force=False)["cached"])
            with open(dest + ".manifest.json") as f:
                self.assertEqual(json.load(f)["messages"], 2)
            m.check_against_mailbox(src, dest, "mboxrd", 2)


if __name__ == "__main__":
    unittest.main()
