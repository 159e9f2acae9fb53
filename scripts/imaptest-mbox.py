#!/usr/bin/env python3
"""Writes the mbox imaptest's stress mode appends from (scripts/imaptest).

Every message has its own Message-ID (imaptest tracks messages by it and
reports a "changed" message when two differ); the kinds are plain text,
multipart with an attachment, 8-bit text up to 100 KB (more than one 64 KiB
store chunk) and message/rfc822.
"""
import random
import sys

random.seed(1)
with open(sys.argv[1], "w") as f:
    for i in range(300):
        head = (f"From: Sender {i} <s{i}@example.org>\nTo: test@imaptest.test\nSubject: msg {i}\n"
                f"Date: Mon, 0{1 + i % 9} Jan 2024 10:00:00 +0000\nMessage-ID: <m{i}@stress.test>\n")
        body = [
            "\n" + "line\n" * random.randint(1, 50),
            "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhello\n"
            "--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n--b--\n",
            "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGr\u00fc\u00dfe "
            + "x" * random.randint(10, 100000) + "\n",
            "MIME-Version: 1.0\nContent-Type: message/rfc822\n\nFrom: inner@x\nSubject: inner\n\ninner body\n",
        ][i % 4]
        f.write("From s@example.org Mon Jan  1 10:00:00 2024\n" + head + body + "\n")
