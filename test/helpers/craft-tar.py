#!/usr/bin/env python3
"""Writes a tar archive exactly as described, hostile entries included, for
kiln's hostile-package tests. Python's tarfile writes any name, link target
or type it is given, which dpkg-deb and bsdtar would refuse or normalise.

Usage: craft-tar.py OUT.tar < SPEC.json
SPEC: a list of entries {name, type: file|dir|symlink|hardlink|fifo,
content?, target?, mode?}; owners root:root, times fixed."""
import io
import json
import sys
import tarfile

TYPES = {
    'file': tarfile.REGTYPE,
    'dir': tarfile.DIRTYPE,
    'symlink': tarfile.SYMTYPE,
    'hardlink': tarfile.LNKTYPE,
    'fifo': tarfile.FIFOTYPE,
}


def main() -> None:
    out = sys.argv[1]
    spec = json.load(sys.stdin)
    with tarfile.open(out, 'w', format=tarfile.GNU_FORMAT) as tar:
        for e in spec:
            info = tarfile.TarInfo(e['name'])
            info.type = TYPES[e['type']]
            info.mode = e.get('mode', 0o755 if e['type'] == 'dir' else 0o644)
            info.uid = info.gid = 0
            info.uname = info.gname = 'root'
            info.mtime = 1_700_000_000
            data = None
            if e['type'] == 'file':
                data = e.get('content', '').encode()
                info.size = len(data)
            if e['type'] in ('symlink', 'hardlink'):
                info.linkname = e['target']
            tar.addfile(info, io.BytesIO(data) if data is not None else None)


main()
