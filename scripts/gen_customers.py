#!/usr/bin/env python3
"""gen_customers.py : writes N synthetic customers as import CSV on stdout.

Usage: gen_customers.py N [--seed S] [--shared K]

Phones are NANP numbers +1555XXXXXXX, distinct per customer (one to three
each, in varied written forms); every K-th customer (default 1000) also shares
a switchboard number with the one before it, so shared-number ranking is
exercised at scale. Deterministic for a given seed. Python 3 stdlib only.
"""
import argparse
import csv
import random
import sys

FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Dennis", "Ken", "Margaret", "Donald", "Frances",
         "John", "Radia", "Hedy", "Claude", "Lynn", "Tim", "Joan", "Katherine", "Søren", "Zoë"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Ritchie", "Thompson", "Hamilton", "Knuth",
        "Allen", "Backus", "Perlman", "Lamarr", "Shannon", "Conway", "Berners-Lee", "Clarke", "O'Neil",
        "García", "Müller"]
TIERS = ["bronze", "silver", "gold", "platinum"]


def written(digits, rnd):
    """One of the forms people type a NANP number in."""
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return rnd.choice([
        f"+1{a}{b}{c}", f"+1 ({a}) {b}-{c}", f"1-{a}-{b}-{c}", f"{a}.{b}.{c}", f"({a}) {b} {c}",
    ])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--shared", type=int, default=1000)
    args = ap.parse_args()
    if not 0 <= args.n <= 100_000_000:
        ap.error("N must be 0..100000000")
    rnd = random.Random(args.seed)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["id", "name", "phones", "email", "account", "tier", "notes"])
    for i in range(args.n):
        # 555-XXX-XXXX with XXXXXXX = 3*i + k: distinct for up to 3.3 million customers.
        base = 3 * i
        phones = [written("555" + f"{(base + k) % 10_000_000:07d}", rnd) for k in range(rnd.randint(1, 3))]
        if args.shared and i % args.shared == args.shared - 1:
            phones.append(written("555" + f"{(3 * (i - 1)) % 10_000_000:07d}", rnd))
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        notes = rnd.choice(["", "", "VIP", f"Prefers {rnd.choice(['email', 'phone'])}, \"urgent\" only",
                            "Two-line note:\nsecond line"])
        out.writerow([f"C-{i + 1}", f"{first} {last}", ";".join(phones),
                      f"{first.lower()}.{last.lower()}{i}@example.com", f"ACC-{100000 + i}",
                      rnd.choice(TIERS), notes])


if __name__ == "__main__":
    main()
