#!/usr/bin/env python3
"""mkinitramfs.py OUT INIT MODULE: a newc cpio (the kernel's initramfs format,
no compression) holding /init (INIT, umlinit), /virtio_blk.ko (MODULE) and the
empty /dev and /root init mounts on; for linux.uml initrd=OUT. Written here
because the host has no cpio; the format is the kernel's
Documentation/driver-api/early-userspace/buffer-format.rst: a 110-byte ASCII
header per entry ("070701", 13 fields of 8 hex digits), the name with its NUL,
the data, each padded to 4 bytes, and an entry named TRAILER!!! at the end."""
import sys


def entry(out, ino, name, mode, data=b""):
    name_b = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0]
    hdr = b"070701" + b"".join(b"%08X" % f for f in fields)
    out.write(hdr + name_b)
    out.write(b"\0" * (-(len(hdr) + len(name_b)) % 4))
    out.write(data)
    out.write(b"\0" * (-len(data) % 4))


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: mkinitramfs.py OUT INIT MODULE")
    out_path, init, module = sys.argv[1:]
    with open(init, "rb") as f:
        init_b = f.read()
    with open(module, "rb") as f:
        mod_b = f.read()
    with open(out_path, "wb") as out:
        entry(out, 1, "dev", 0o040755)
        entry(out, 2, "root", 0o040755)
        entry(out, 3, "init", 0o100755, init_b)
        entry(out, 4, "virtio_blk.ko", 0o100644, mod_b)
        entry(out, 5, "TRAILER!!!", 0)


main()
