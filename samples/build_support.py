#!/usr/bin/env python3
"""Build the bundled `samples/support/` data set deterministically.

The content is hand-written and lives in `samples/support_src/*.txt` (one block per
example, see the header of each file).  This script only parses those blocks, shuffles
them with a fixed seed, scatters the planted problems (duplicates, conflicts, outliers,
one over-long example) through the file, assigns ids and writes:

    support/examples.jsonl       OpenAI chat format, one example per line
    support/truth.json           the planted truth (ids)
    support/malformed.jsonl      one problem per line, for validation tests
    support/malformed_bom.jsonl  two valid lines behind a UTF-8 BOM
    support/alpaca_sample.json   20 examples, alpaca format
    support/tickets.csv          20 rows, ticket_id,question,answer,channel

The documents in `support/docs/` are written by hand and not touched here.

Only the standard library is used:  python samples/build_support.py
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE / "support_src"
OUT = HERE / "support"

SEED = 20250411

SYSTEM = (
    "You are the customer support assistant for Northwind Bikes, an Amsterdam-based e-bike "
    "and accessories retailer (Aria 2, Tempo X and Haul bikes, the Northwind Ride app, "
    "Northwind Care plans and Flex subscriptions). Reply in our brand voice: warm, concise "
    "and human. Acknowledge the customer's situation in one line, then give specific next "
    "steps: order numbers, dates, where to tap in the app, what we will do and when. Never "
    "blame the customer, even when something went wrong on their side; focus on fixing it. "
    "Don't invent policies, prices or delivery dates. Keep replies under 150 words, write "
    "plain text without markdown, and sign off with your first name."
)

# Exact duplicates: (original key, variant).  "verbatim" copies the messages as they are;
# "case" lower-cases the user message and "space" only changes whitespace.
EXACT_DUPLICATES = [
    ("ord-07", "verbatim"),
    ("bat-07", "verbatim"),
    ("svc-03", "verbatim"),
    ("asm-04", "verbatim"),
    ("intl-02", "case"),
    ("sub-07", "space"),
]

# Order in which planted items are spread over the file (they are then matched to slots
# that lie after their originals).
PLANT_ORDER = [
    "X1", "P1", "O1", "C1", "X2", "P2", "C2", "O2", "P3", "X3", "C3", "T1",
    "P4", "O3", "X4", "P5", "C4", "P6", "X5", "O4", "P7", "C5", "X6", "P8",
]


# ---------------------------------------------------------------------------- parsing

HEADER = re.compile(r"^### (\S+) (\S+)(?: (\S+))?\s*$")


def parse_blocks(path: Path) -> list[dict]:
    """Parse one source file into blocks: {key, tag, extra, turns:[(role, text)]}."""
    blocks: list[dict] = []
    current: dict | None = None
    role: str | None = None
    buf: list[str] = []

    def flush_turn() -> None:
        nonlocal role, buf
        if current is not None and role is not None:
            current["turns"].append((role, "\n".join(buf).strip()))
        role, buf = None, []

    for raw in path.read_text(encoding="utf-8").splitlines():
        m = HEADER.match(raw)
        if m:
            flush_turn()
            current = {"key": m.group(1), "tag": m.group(2), "extra": m.group(3), "turns": []}
            blocks.append(current)
            continue
        if current is None:
            continue  # file preamble (comments)
        if raw.startswith("U: ") or raw.startswith("A: ") or raw in ("U:", "A:"):
            flush_turn()
            role = "user" if raw.startswith("U") else "assistant"
            buf = [raw[3:]]
        elif role is not None:
            buf.append(raw)
    flush_turn()
    return blocks


def to_messages(turns: list[tuple[str, str]]) -> list[dict]:
    return [{"role": "system", "content": SYSTEM}] + [{"role": r, "content": t} for r, t in turns]


# ------------------------------------------------------------------------ too-long one

def too_long_example(rng: random.Random) -> list[tuple[str, str]]:
    """A customer pasting a whole e-mail thread plus an app diagnostic log (about 4,000 tokens: over the 2,048 training length, inside the model context)."""
    intro = (
        "Hi Northwind,\n\nI'm forwarding the whole thread with the partner workshop in Köln plus the "
        "diagnostic log the app exported, because honestly I'm losing track of who said what. Short "
        "version: my Tempo X (frame TX-24-007731, order NW-198862) keeps cutting out mid-ride with E31 "
        "on the display. It has been to the workshop twice. Everything is below, sorry it's long.\n\n"
        "Markus"
    )
    mails = [
        ("Markus Brandt", "Mon 3 Mar 2025 08:12", "Tempo X cutting out",
         "Hello, my Tempo X switches off the motor assist several times per ride, usually on bumpy "
         "sections. The display shows E31 for a second and then the assist comes back. I ride 16 km "
         "each way to work. Can I bring it in this week? Regards, Markus Brandt"),
        ("Radwerk Ehrenfeld (Northwind partner)", "Mon 3 Mar 2025 14:40", "RE: Tempo X cutting out",
         "Hello Mr Brandt, thank you for your message. We can look at the bike on Thursday morning. "
         "Please bring the battery key. E31 usually points to a connection problem between display "
         "and motor. Best regards, Jens / Radwerk Ehrenfeld"),
        ("Markus Brandt", "Fri 7 Mar 2025 17:55", "RE: RE: Tempo X cutting out",
         "Hi Jens, thanks for checking it yesterday. You said the connector under the display was "
         "loose and you cleaned and reseated it. Unfortunately on the way home today it cut out again "
         "four times, twice on the Zoobrücke. Should I bring it back? Markus"),
        ("Radwerk Ehrenfeld (Northwind partner)", "Mon 10 Mar 2025 09:03", "RE: RE: RE: Tempo X cutting out",
         "Hello Mr Brandt, sorry to hear that. Please bring it in again on Wednesday. We will run the "
         "Northwind diagnostic and, if needed, order a new cable harness from Northwind under warranty. "
         "Could you also export the ride log from the app and send it to Northwind support? Jens"),
        ("Markus Brandt", "Wed 12 Mar 2025 18:20", "RE: RE: RE: RE: Tempo X cutting out",
         "Hi Jens, picked it up again. You replaced the display cable this time. First ride was fine, "
         "second ride this morning E31 came back three times. I'm starting to get frustrated, I depend "
         "on this bike. What is the next step? Markus"),
        ("Radwerk Ehrenfeld (Northwind partner)", "Thu 13 Mar 2025 10:47", "RE: RE: RE: RE: RE: Tempo X cutting out",
         "Hello Mr Brandt, we understand. As the cable is new, the fault may be in the main harness "
         "inside the down tube or in the motor connector, which we can only replace after Northwind "
         "approves it. Please contact Northwind support directly with the log so they can approve the "
         "repair. Kind regards, Jens"),
    ]
    # Build the thread newest first, each mail quoting everything before it.
    thread = ""
    for sender, sent, subject, body in mails:
        quoted = "\n".join("> " + line if line else ">" for line in thread.splitlines())
        thread = (
            f"From: {sender}\nSent: {sent}\nSubject: {subject}\n\n{body}"
            + (f"\n\n-----Original Message-----\n{quoted}" if quoted else "")
        )

    lines = ["Exported diagnostic log (Northwind Ride 5.2.1, bike TX-24-007731, firmware 3.4.2):"]
    day_rides = [("2025-03-13", "07:41"), ("2025-03-14", "07:39")]
    modes = ["ECO", "TOUR", "TOUR", "TOUR", "TURBO"]
    for day, start in day_rides:
        hh, mm = map(int, start.split(":"))
        t = hh * 3600 + mm * 60
        batt = rng.randint(62, 96)
        lines.append(f"{day} {start}:00.000 [SYS] ride_start battery={batt}% odo=3{rng.randint(100, 999)}km")
        for _ in range(24):
            t += rng.randint(8, 16)
            stamp = f"{day} {t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}.{rng.randint(0, 999):03d}"
            if rng.random() < 0.06:
                lines.append(f"{stamp} [ERR] E31 display<->motor CAN timeout after {rng.randint(180, 420)}ms bus_errors={rng.randint(3, 40)}")
                lines.append(f"{stamp} [MOTOR] assist=OFF reason=COMM_LOSS recover_in={rng.randint(600, 1400)}ms")
            else:
                if rng.random() < 0.2:
                    batt = max(5, batt - 1)
                lines.append(
                    f"{stamp} [MOTOR] assist={rng.choice(modes)} speed={rng.uniform(12, 25):.1f}km/h "
                    f"cadence={rng.randint(55, 92)}rpm torque={rng.randint(12, 68)}Nm batt={batt}% "
                    f"temp_motor={rng.randint(24, 47)}C status=OK"
                )
        lines.append(f"{day} {t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}.000 [SYS] ride_end battery={batt}%")

    user = intro + "\n\n" + thread + "\n\n" + "\n".join(lines)
    reply = (
        "Hi Markus,\n\nThank you for sending everything, and I'm sorry you've been back and forth to the "
        "workshop twice without a fix. Your log shows the E31 drop-outs on every ride, each time with "
        "bus errors, which confirms what Jens suspected: the fault is in the main harness inside the "
        "down tube, not the display cable. I've approved a full harness and motor-connector replacement "
        "under warranty, and the parts will reach Radwerk Ehrenfeld on Tuesday. They'll call you to book "
        "it in, and it's a same-day job. If you need a bike in the meantime, tell me and I'll arrange a "
        "loan bike from our Cologne hub.\n\nLukas"
    )
    return [("user", user), ("assistant", reply)]


# ----------------------------------------------------------------------------- build

def variant(messages: list[dict], kind: str) -> list[dict]:
    out = [dict(m) for m in messages]
    if kind == "case":  # user typed it in lower case, with a stray double space
        for m in out:
            if m["role"] == "user":
                m["content"] = m["content"].lower().replace(" ", "  ", 1)
    elif kind == "space":  # whitespace only: padded and re-wrapped
        for m in out:
            if m["role"] == "user":
                m["content"] = "  " + m["content"].replace(" ", "\n", 1) + " \n"
            elif m["role"] == "assistant":
                m["content"] = m["content"].replace("\n\n", "\n\n\n") + "  "
    return out


def build() -> dict:
    normal: list[dict] = []
    planted: dict[str, dict] = {}
    for path in sorted(SRC.glob("*.txt")):
        for b in parse_blocks(path):
            if path.name.startswith("90_"):
                planted[b["key"]] = b
            else:
                normal.append(b)

    keys = [b["key"] for b in normal]
    assert len(keys) == len(set(keys)), "duplicate source keys"
    by_key = {b["key"]: b for b in normal}

    rng = random.Random(SEED)
    rng.shuffle(normal)
    pos = {b["key"]: i for i, b in enumerate(normal)}

    # Planted records: tag -> (kind, original key or None, messages)
    items: dict[str, tuple[str, str | None, list[dict]]] = {}
    for i, (orig, kind) in enumerate(EXACT_DUPLICATES, 1):
        items[f"X{i}"] = ("exact", orig, variant(to_messages(by_key[orig]["turns"]), kind))
    for tag, b in planted.items():
        kind = {"para": "paraphrase", "conflict": "conflict", "outlier": "outlier"}[b["tag"]]
        if b["extra"]:
            assert b["extra"] in by_key, b["extra"]
        items[tag] = (kind, b["extra"], to_messages(b["turns"]))
    items["T1"] = ("too_long", None, to_messages(too_long_example(random.Random(SEED + 1))))
    assert sorted(items) == sorted(PLANT_ORDER), sorted(set(items) ^ set(PLANT_ORDER))

    # Evenly spread slots ("insert after k normal examples"), lightly jittered.
    n, m = len(normal), len(PLANT_ORDER)
    slots = sorted(min(n, max(1, round((i + 1) * n / (m + 1)) + rng.randint(-4, 4))) for i in range(m))
    free = list(slots)
    assignment: dict[str, int] = {}
    constrained = sorted((t for t in PLANT_ORDER if items[t][1]), key=lambda t: pos[items[t][1]])
    for tag in constrained:
        # keep a little distance from the original where the file allows it
        min_k = min(n, pos[items[tag][1]] + 1 + rng.randint(3, 20))
        fits = [s for s in free if s >= min_k]
        k = fits[0] if fits else min_k
        if fits:
            free.remove(k)
        assignment[tag] = k
    for tag in (t for t in PLANT_ORDER if not items[t][1]):
        assignment[tag] = free.pop(0)

    # Interleave.
    after: dict[int, list[str]] = {}
    for tag in PLANT_ORDER:
        after.setdefault(assignment[tag], []).append(tag)
    sequence: list[tuple[str, object]] = []
    for i, b in enumerate(normal):
        for tag in after.get(i, []):
            sequence.append(("planted", tag))
        sequence.append(("normal", b))
    for tag in after.get(n, []):
        sequence.append(("planted", tag))

    records, key_to_id, tag_to_id = [], {}, {}
    for idx, (what, obj) in enumerate(sequence, 1):
        sid = f"sup-{idx:04d}"
        if what == "normal":
            key_to_id[obj["key"]] = sid
            records.append({"id": sid, "messages": to_messages(obj["turns"])})
        else:
            tag_to_id[obj] = sid
            records.append({"id": sid, "messages": items[obj][2]})

    truth: dict = {"exact_duplicates": [], "paraphrase_duplicates": [], "conflicts": [],
                   "outliers": [], "too_long": [], "hard_negatives": [], "multi_turn": [],
                   "categories": {}}
    for tag in sorted(items, key=lambda t: tag_to_id[t]):
        kind, orig = items[tag][0], items[tag][1]
        if kind == "exact":
            truth["exact_duplicates"].append([tag_to_id[tag], key_to_id[orig]])
        elif kind == "paraphrase":
            truth["paraphrase_duplicates"].append([tag_to_id[tag], key_to_id[orig]])
        elif kind == "conflict":
            truth["conflicts"].append([tag_to_id[tag], key_to_id[orig]])
        elif kind == "outlier":
            truth["outliers"].append(tag_to_id[tag])
        elif kind == "too_long":
            truth["too_long"].append(tag_to_id[tag])
    for b in sorted(normal, key=lambda b: key_to_id[b["key"]]):
        sid = key_to_id[b["key"]]
        truth["categories"].setdefault(b["tag"], []).append(sid)
        if b["extra"]:
            assert b["extra"].startswith("hn="), b["extra"]
            pair = sorted([key_to_id[b["extra"][3:]], sid])
            truth["hard_negatives"].append(pair)
        if sum(1 for r, _ in b["turns"] if r == "user") > 1:
            truth["multi_turn"].append(sid)
    truth["hard_negatives"].sort()
    truth["categories"] = dict(sorted(truth["categories"].items()))

    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "examples.jsonl", "w", encoding="utf-8", newline="\n") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    (OUT / "truth.json").write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return truth


# ------------------------------------------------------------------- other formats

def write_malformed() -> None:
    def chat(user: str, reply: str) -> list[dict]:
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user},
                {"role": "assistant", "content": reply}]

    ok1 = {"id": "bad-01", "messages": chat(
        "Do you deliver on Saturdays in Utrecht?",
        "Hi there,\n\nYes, in the Netherlands and Belgium DHL can deliver bikes on Saturdays. Once your "
        "order ships, choose Saturday in the DHL link in your dispatch email.\n\nSanne")}
    ok2 = {"id": "bad-12", "messages": chat(
        "Is the Loop Lock ART-2 certified?",
        "Hi,\n\nYes, the Loop Lock (€79) is ART-2 certified, which is also the level Care+ theft "
        "protection requires. Lock the frame to a fixed rack for the best protection.\n\nTom")}
    truncated = json.dumps({"id": "bad-02", "messages": chat(
        "Where is my order NW-250118?",
        "Hi,\n\nIt shipped this morning with DHL and should arrive on Thursday.\n\nMaya")}, ensure_ascii=False)
    truncated = truncated[: truncated.index("should arrive")]  # cut off mid-string
    lines = [
        json.dumps(ok1, ensure_ascii=False),
        truncated,
        json.dumps([{"role": "user", "content": "How long is the warranty on the frame?"},
                    {"role": "assistant", "content": "Frames have a 10-year warranty."}]),
        json.dumps({"id": "bad-04", "conversation": chat(
            "Can I return a helmet?", "Hi,\n\nYes, if it has only been tried on indoors.\n\nRavi")},
            ensure_ascii=False),
        json.dumps({"id": "bad-05", "messages": []}),
        json.dumps({"id": "bad-06", "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": "What does E40 mean?"},
            {"role": "bot", "content": "Hi,\n\nE40 means the motor is too warm and has reduced power.\n\nJoost"}]},
            ensure_ascii=False),
        json.dumps({"id": "bad-07", "labels": ["battery"], "messages": chat(
            "How long does the Tempo X take to charge?",
            "Hi,\n\nAbout 4.5 hours from empty with the 4A charger in the box.\n\nFemke")}, ensure_ascii=False),
        json.dumps({"id": "bad-08", "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": "Is the Aria 2 a step-through?"},
            {"role": "assistant"}]}, ensure_ascii=False),
        json.dumps({"id": "bad-09", "messages": chat("Do you ship to Norway?", "")}, ensure_ascii=False),
        json.dumps({"id": "bad-10", "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": "My display shows E10 after washing the bike."}]}, ensure_ascii=False),
        json.dumps({"id": "bad-11", "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": "Can I pause my Care plan?"},
            {"role": "assistant", "content": "Hi,\n\nWe can't pause plans, but you can cancel and rejoin any time.\n\nTom"},
            {"role": "user", "content": "OK, thanks."}]}, ensure_ascii=False),
        json.dumps(ok2, ensure_ascii=False),
    ]
    (OUT / "malformed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    bom_lines = [
        json.dumps({"id": "bom-01", "messages": chat(
            "How far does the Aria 2 go on one charge?",
            "Hi,\n\nBetween 45 and 100 km, depending on assist level, hills, wind and temperature.\n\nTom")},
            ensure_ascii=False),
        json.dumps({"id": "bom-02", "messages": chat(
            "What's the return window for bikes?",
            "Hi,\n\n30 days from delivery, as long as the bike has done less than 100 km.\n\nSanne")},
            ensure_ascii=False),
    ]
    (OUT / "malformed_bom.jsonl").write_bytes(b"\xef\xbb\xbf" + ("\n".join(bom_lines) + "\n").encode("utf-8"))


ALPACA = [
    {
        "instruction": "Rewrite this customer-support reply in the Northwind Bikes brand voice: warm, concise, specific next steps, never blame the customer, first-name sign-off.",
        "input": "Your order was not delivered because you entered the wrong house number. Please contact DHL.",
        "output": "Hi there,\n\nSorry your bike hasn't arrived yet. The driver couldn't find the right door because the house number on the label didn't match, so I've corrected the address and booked a new delivery for tomorrow between 08:00 and 13:00. You don't need to contact DHL; I'll keep an eye on it for you.\n\nSanne",
    },
    {
        "instruction": "Rewrite this customer-support reply in the Northwind Bikes brand voice.",
        "input": "Return window is 30 days. Bikes over 100 km cannot be returned. Request denied.",
        "output": "Hi,\n\nThanks for asking, and I'm sorry the bike isn't working out. Our return policy covers bikes ridden less than 100 km within 30 days, so I can't offer a standard return here. I'd still like to help: tell me what isn't right, and we can book a free fitting at a hub or check the bike under warranty if something seems faulty.\n\nTom",
    },
    {
        "instruction": "Rewrite this reply so it sounds like Northwind Bikes support.",
        "input": "We do not ship to Spain. Goodbye.",
        "output": "Hi,\n\nThanks so much for your interest, and sorry to disappoint: we don't ship to Spain yet. We currently deliver to the Netherlands, Belgium, Luxembourg, Germany, France, Austria, Denmark, the UK, Switzerland and Norway. If you'd like to hear when Spain is added, sign up for updates on our website.\n\nMaya",
    },
    {
        "instruction": "Rewrite this reply in the Northwind Bikes brand voice and add the concrete next step.",
        "input": "You charged the battery in the cold, that's why it's broken. Not our problem.",
        "output": "Hi,\n\nI'm sorry your battery is giving you trouble. Cold can affect lithium batteries, but let's find out what's actually going on before drawing conclusions. Bring it to any hub for a free battery health check, or reply with your frame number and I'll arrange one. From now on, charging indoors at room temperature will keep it in the best shape.\n\nPriya",
    },
    {
        "instruction": "Rewrite this reply in the Northwind Bikes brand voice.",
        "input": "Warranty claim rejected. Falls are not covered.",
        "output": "Hi,\n\nI'm sorry about your display. Our warranty covers manufacturing defects, so damage from a fall isn't included, but the fix is simple: a new Halo display is €129, and any hub will fit it for free, or you can plug it in yourself with one screw.\n\nTom",
    },
    {
        "instruction": "Classify this Northwind Bikes customer message into one support category: order-status, returns-refunds, warranty, battery-charging, app-account, repairs-service, subscriptions-billing, product-sizing, assembly-setup, international-customs.",
        "input": "The app says my Tempo X is 'offline' in Find My Bike but it's in my shed.",
        "output": "app-account",
    },
    {
        "instruction": "Classify this Northwind Bikes customer message into one support category: order-status, returns-refunds, warranty, battery-charging, app-account, repairs-service, subscriptions-billing, product-sizing, assembly-setup, international-customs.",
        "input": "Do I have to pay import VAT if I order a Haul to Zürich?",
        "output": "international-customs",
    },
    {
        "instruction": "Classify this Northwind Bikes customer message into one support category: order-status, returns-refunds, warranty, battery-charging, app-account, repairs-service, subscriptions-billing, product-sizing, assembly-setup, international-customs.",
        "input": "The pedal won't go into the left crank arm, it keeps cross-threading.",
        "output": "assembly-setup",
    },
    {
        "instruction": "Classify this Northwind Bikes customer message into one support category: order-status, returns-refunds, warranty, battery-charging, app-account, repairs-service, subscriptions-billing, product-sizing, assembly-setup, international-customs.",
        "input": "I see two €19 charges for Care+ this month.",
        "output": "subscriptions-billing",
    },
    {
        "instruction": "Summarise this customer message in one sentence for the support queue.",
        "input": "Hi, so I bought the Aria 2 in March and it was great until last week, when the headlight started flickering over cobbles. I already pushed the plug back in like the manual says but it still flickers, sometimes it goes off completely. I ride home in the dark so this is a real problem. Thanks, Eva",
        "output": "Aria 2 headlight (bought in March) flickers and cuts out on cobbles even after reseating the plug; customer rides in the dark and needs a fix.",
    },
    {
        "instruction": "Summarise this customer message in one sentence for the support queue.",
        "input": "Third time writing. Order NW-221906, paid two weeks ago, no bike, only automated mails. I want a real answer today or I cancel.",
        "output": "Angry customer chasing undelivered order NW-221906 (paid two weeks ago) for the third time and threatening to cancel.",
    },
    {
        "instruction": "Answer the customer's question as Northwind Bikes support.",
        "input": "How long does the Aria 2 take to charge?",
        "output": "Hi,\n\nWith the 2A charger that comes with the Aria 2, a full charge from empty takes about 6.5 hours. If you'd like it quicker, the Fast Charger (€89) does it in about 3.5 hours.\n\nFemke",
    },
    {
        "instruction": "Answer the customer's question as Northwind Bikes support.",
        "input": "What size Tempo X for someone who is 185 cm?",
        "output": "Hi,\n\nAt 185 cm you're a size L on the Tempo X, which fits riders from 180 to 193 cm. If you'd like to be sure, book a free test ride at any of our hubs and we'll have an L ready for you.\n\nTom",
    },
    {
        "instruction": "Answer the customer's question as Northwind Bikes support.",
        "input": "Is theft included in Care?",
        "output": "Hi,\n\nTheft protection isn't part of Care, but it is included in Care+ (€19 a month): we replace a stolen bike with the same model for a €150 excess, as long as it was locked with an ART-2 lock and reported to the police within 48 hours.\n\nInes",
    },
    {
        "instruction": "Answer the customer's question as Northwind Bikes support.",
        "input": "Does the Tempo X battery fit the Haul?",
        "output": "Hi,\n\nYes, the Tempo X and the Haul use the same 625 Wh battery, so you can swap them freely, and the chargers are the same too. The Aria 2's 504 Wh battery is different and doesn't fit.\n\nMaya",
    },
    {
        "instruction": "Write a short, warm apology for a late refund, with the concrete status.",
        "input": "Customer: Stefanie. Return received 15 days ago. Refund of €2,499 issued today. Goodwill: €15 voucher.",
        "output": "Hi Stefanie,\n\nYou're right to chase this, and I'm sorry: your return arrived 15 days ago and sat in our inspection queue far too long. I've issued your refund of €2,499 today, and it should show within three to five business days. I've also added a €15 voucher to your account for the wait.\n\nJoost",
    },
    {
        "instruction": "Turn these internal notes into a customer reply in the Northwind voice.",
        "input": "E31 = display/motor comms. Try reseating connector under display. If persists: warranty, book hub or mobile, bring cable.",
        "output": "Hi,\n\nSorry about the cut-outs. E31 means the display and motor briefly lose contact, usually at a connector. With the bike off, unplug the connector under the display, check it's clean and dry, and push it back until it clicks. If E31 comes back, it's covered by warranty: book a hub or mobile mechanic in the app and we'll bring a new cable.\n\nInes",
    },
    {
        "instruction": "Turn these internal notes into a customer reply in the Northwind voice.",
        "input": "Swiss order. DAP. Courier collects 8.1% import VAT + clearance fee. No duty on bicycles. EUR pricing.",
        "output": "Hi,\n\nFor Switzerland, the checkout price excludes Dutch VAT, and the courier collects Swiss import VAT (8.1%) plus a clearance fee on delivery. There's no customs duty on bicycles. You'll hear from the courier beforehand with the exact amount in CHF.\n\nPriya",
    },
    {
        "instruction": "Is this reply consistent with Northwind policy? Answer yes or no and give the correct policy.",
        "input": "Our bikes can be returned within 14 days if unridden.",
        "output": "No. Bikes can be returned within 30 days of delivery if they've been ridden less than 100 km; collection is free in the Netherlands, Belgium, Germany and France.",
    },
    {
        "instruction": "Is this reply consistent with Northwind policy? Answer yes or no and give the correct policy.",
        "input": "The frame is covered for 10 years, and the motor and battery for 2 years.",
        "output": "Yes. Frames have a 10-year warranty; motor, battery, electronics and other components have 2 years (extended to 4 years for battery and motor with Care+).",
    },
]

TICKETS = [
    ("T-50101", "Where is my order NW-260114? Tracking hasn't updated since Monday.",
     "Hi,\n\nSorry for the silence on the tracking. NW-260114 is at the DHL hub in Utrecht and is out for delivery tomorrow; you'll get a two-hour window in the morning.\n\nSanne", "email"),
    ("T-50102", "How do I return a helmet that doesn't fit?",
     "Hi,\n\nGo to Account → Orders, choose the helmet and tap Exchange or Return. The label is free; please include the foam pads.\n\nRavi", "chat"),
    ("T-50103", "Is the Tempo X frame covered if it cracks?",
     "Hi,\n\nYes, Tempo X frames have a 10-year warranty. Send photos and your frame number through Help → Warranty claim in the app.\n\nLukas", "app"),
    ("T-50104", "Can I charge in my garage at -5°C?",
     "Hi,\n\nPlease don't: charging below 0°C can damage the cells. Bring the battery inside, let it warm up for an hour and charge it there.\n\nInes", "chat"),
    ("T-50105", "The app can't find my bike.",
     "Hi,\n\nHold + and the power button for five seconds until the blue Bluetooth icon blinks, then go to Garage → Add bike. On Android, allow location permission too.\n\nRavi", "app"),
    ("T-50106", "How much is a full service?",
     "Hi,\n\nThe Full Service is €149 and includes everything in the Standard Service (€89) plus a brake bleed, bearing check and wheel truing.\n\nSanne", "phone"),
    ("T-50107", "Can I cancel Care+ any time?",
     "Hi,\n\nYes, with no fee: Account → Plans → Cancel. Monthly plans run to the end of the billing period; annual plans refund unused full months.\n\nFemke", "email"),
    ("T-50108", "Which Aria 2 size for 168 cm?",
     "Hi,\n\nSize M, which fits 163–178 cm. Book a free test ride at a hub if you'd like to be sure.\n\nTom", "chat"),
    ("T-50109", "Left pedal won't screw in.",
     "Hi,\n\nThe left pedal is reverse-threaded: turn it anticlockwise to tighten, starting by hand, then use the 15 mm wrench.\n\nLukas", "chat"),
    ("T-50110", "Do I pay VAT on delivery in Norway?",
     "Hi,\n\nYes: the checkout price excludes Dutch VAT, and the courier collects 25% Norwegian import VAT plus a clearance fee before delivery.\n\nJoost", "email"),
    ("T-50111", "My refund hasn't arrived, returned 10 days ago.",
     "Hi,\n\nSorry for the wait. Your return passed inspection today and the refund is issued; banks take three to five business days to show it.\n\nClaire", "email"),
    ("T-50112", "Does the Aria 2 have GPS tracking?",
     "Hi,\n\nNo, GPS Find My Bike is only on the Tempo X. The Aria 2 has the motor lock, and our Tag Holder (€19) hides an AirTag under the saddle.\n\nFemke", "app"),
    ("T-50113", "Display shows E40 on long climbs.",
     "Hi,\n\nE40 means the motor got warm and reduced power to protect itself. Drop an assist level or pause briefly and it clears.\n\nJoost", "chat"),
    ("T-50114", "Can I get the invoice with my company's VAT number?",
     "Hi,\n\nOf course. Send the company name, address and VAT number and I'll reissue the invoice the same day.\n\nTom", "email"),
    ("T-50115", "When is the Haul back in stock?",
     "Hi,\n\nThe next batch arrives at the end of April and ships in early May. Tap Notify me on the Haul page to hear first.\n\nRavi", "chat"),
    ("T-50116", "Does my UK order include customs fees?",
     "Hi,\n\nYes, UK orders ship with duties and import VAT paid, so there's nothing to pay on delivery. Ignore any text asking for fees.\n\nClaire", "phone"),
    ("T-50117", "How do I remove my sold bike from the app?",
     "Hi,\n\nGarage → your bike → Remove bike. That clears the motor lock so the new owner can pair it.\n\nSanne", "app"),
    ("T-50118", "Brakes squeal in the rain.",
     "Hi,\n\nClean the discs with isopropyl alcohol, then do ten firm stops to bed the pads in. If it persists, a hub can replace the pads for €25.\n\nLukas", "chat"),
    ("T-50119", "Is Flex available in Belgium?",
     "Hi,\n\nYes, Flex is available in the Netherlands, Belgium and Germany, from €69 a month for an Aria 2 with a three-month minimum.\n\nJoost", "email"),
    ("T-50120", "What's the tyre pressure for the Tempo X?",
     "Hi,\n\n2.5 to 4.0 bar: the lower end for comfort and gravel, the higher end for range and heavy loads.\n\nPriya", "chat"),
]


def write_small_formats() -> None:
    (OUT / "alpaca_sample.json").write_text(json.dumps(ALPACA, indent=2, ensure_ascii=False) + "\n",
                                            encoding="utf-8")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["ticket_id", "question", "answer", "channel"])
    writer.writerows(TICKETS)
    (OUT / "tickets.csv").write_text(buf.getvalue(), encoding="utf-8")


def main() -> None:
    truth = build()
    write_malformed()
    write_small_formats()
    n = sum(1 for _ in open(OUT / "examples.jsonl", encoding="utf-8"))
    print(f"wrote {n} examples to {OUT / 'examples.jsonl'}")
    for key in ("exact_duplicates", "paraphrase_duplicates", "conflicts", "outliers", "too_long",
                "hard_negatives", "multi_turn"):
        print(f"  {key}: {len(truth[key])}")
    for cat, ids in truth["categories"].items():
        print(f"  category {cat}: {len(ids)}")


if __name__ == "__main__":
    main()
