#!/usr/bin/env python3
"""Drives a busylight's colour from `ucwa watch --json`: green when available, red when busy or
in do-not-disturb, yellow when away or be-right-back, off when offline.

    ucwa watch --json | ./busylight.py                 # prints the colour it would set
    ucwa watch --json | ./busylight.py --hidraw /dev/hidraw0

With --hidraw it writes the Kuando Busylight's 64-byte "steady colour" report (step 0: jump,
RGB 0..100); for another light replace `set_colour`. Reads only own-presence events.
"""
import json
import sys

COLOURS = {
    "Online": (0, 100, 0), "IdleOnline": (0, 100, 0),
    "Busy": (100, 0, 0), "IdleBusy": (100, 0, 0), "DoNotDisturb": (100, 0, 0),
    "BeRightBack": (100, 60, 0), "Away": (100, 60, 0), "OffWork": (100, 60, 0),
    "Offline": (0, 0, 0), "Unknown": (0, 0, 0),
}


def kuando_report(rgb):
    """The Kuando Busylight Omega/UC steady-colour report with its checksum."""
    r, g, b = rgb
    report = bytearray(64)
    report[0:8] = bytes([0x10, 0, r, g, b, 0, 0, 0x80])  # jump to step 0, colour, no sound
    report[56:62] = bytes([0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
    checksum = sum(report[:62])
    report[62], report[63] = checksum >> 8 & 0xFF, checksum & 0xFF
    return bytes(report)


def set_colour(rgb, hidraw):
    if hidraw is None:
        print("colour", rgb, flush=True)
        return
    with open(hidraw, "wb", buffering=0) as dev:
        dev.write(kuando_report(rgb))


def main():
    hidraw = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--hidraw" else None
    for line in sys.stdin:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") in ("presence", "effective_presence"):
            set_colour(COLOURS.get(event.get("availability"), (0, 0, 0)), hidraw)
        elif event.get("event") == "connection" and event.get("state") == "lost":
            set_colour((0, 0, 0), hidraw)


if __name__ == "__main__":
    main()
