#!/usr/bin/env python3
"""Builds tasks/tinystories-next-sentence.txt: a multiple-choice task in llama.cpp's hellaswag
format from the TinyStories text stories3M was not trained on (the last 39,700 bytes of
../shared/fixtures/text/tinystories_val_subset.txt).

Each item is a paragraph's opening sentences (at most the last 3, at most 150 characters) and four
candidate next sentences: the paragraph's real next sentence and three sentences drawn from
paragraphs at least 3 paragraphs away; endings of at most 90 characters. Deterministic: a fixed linear congruential generator,
no Python `random`, so every Python version writes the same bytes.

usage: scripts/make_story_task.py [TEXT] [OUT]
"""
import sys

HELD_OUT_BYTES = 39700
MAX_CONTEXT_SENTENCES = 3
MAX_CONTEXT_CHARS = 150
MAX_ENDING_CHARS = 90  # with the context, under stories3M's 128 tokens


class Lcg:
    """Knuth's MMIX LCG; the high 32 bits of the state are the draw."""

    def __init__(self, seed):
        self.state = seed

    def next(self, n):
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        return (self.state >> 32) % n


def sentences(paragraph):
    """Splits after '.', '!' or '?' (and a closing quote) followed by a space."""
    out, start, i = [], 0, 0
    while i < len(paragraph):
        c = paragraph[i]
        if c in ".!?":
            j = i + 1
            while j < len(paragraph) and paragraph[j] in "\"'":
                j += 1
            if j < len(paragraph) and paragraph[j] == " ":
                out.append(paragraph[start:j].strip())
                start = j + 1
                i = j
        i += 1
    tail = paragraph[start:].strip()
    if tail:
        out.append(tail)
    return [s for s in out if s]


def main():
    text_path = sys.argv[1] if len(sys.argv) > 1 else "../shared/fixtures/text/tinystories_val_subset.txt"
    out_path = sys.argv[2] if len(sys.argv) > 2 else "tasks/tinystories-next-sentence.txt"
    with open(text_path, "rb") as f:
        data = f.read()
    tail = data[-HELD_OUT_BYTES:].decode("utf-8", errors="strict")
    # The tail starts inside a paragraph: begin at the first whole one.
    tail = tail[tail.index("\n\n") + 2:]
    paragraphs = [" ".join(p.split()) for p in tail.split("\n\n")]
    paragraphs = [sentences(p) for p in paragraphs if p.strip()]
    rng = Lcg(20)
    lines = []
    for pi, sents in enumerate(paragraphs):
        for k in range(1, len(sents)):
            context = sents[max(0, k - MAX_CONTEXT_SENTENCES):k]
            while len(context) > 1 and len(" ".join(context)) > MAX_CONTEXT_CHARS:
                context = context[1:]
            truth = sents[k]
            if len(truth) > MAX_ENDING_CHARS or len(" ".join(context)) > MAX_CONTEXT_CHARS:
                continue
            endings = []
            while len(endings) < 3:
                qi = rng.next(len(paragraphs))
                if abs(qi - pi) < 3 or not paragraphs[qi]:
                    continue
                cand = paragraphs[qi][rng.next(len(paragraphs[qi]))]
                if cand != truth and cand not in endings and len(cand) <= MAX_ENDING_CHARS:
                    endings.append(cand)
            answer = rng.next(4)
            endings.insert(answer, truth)
            lines += [" ".join(context), str(answer)] + endings
    with open(out_path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{out_path}: {len(lines) // 6} items from {len(paragraphs)} paragraphs")


if __name__ == "__main__":
    main()
