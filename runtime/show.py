"""The terminal view of an explained review (``scorer score --explain``): each word coloured
by its effect, green toward the positive label and red toward the negative one, brighter the
stronger, then the strongest words with their effects. Colour only on a terminal (rich)."""

from __future__ import annotations

from typing import Any

SHADES = 4  # steps of colour strength, relative to the review's strongest word


def show_explained(records: list[dict[str, Any]], labels: tuple[str, str], top: int) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True)
    negative, positive = labels
    for record in records:
        if record["error"]:
            console.print(Text(f"-  no score: {record['error']}  {record['text']}"))
            continue
        words = record["explanation"] or []
        head = Text(f"{record['score']:.4f}  {record['label']}  ")
        console.print(head + coloured(record["text"], words))
        strongest = ", ".join(f"{w['word']} {w['effect']:+.2f}" for w in words[:top])
        console.print(
            Text(f"        strongest: {strongest or 'none'}  (effect on the logit: + toward "
                 f"{positive}, - toward {negative})", style="dim")
        )  # fmt: skip


def coloured(text: str, words: list[dict[str, Any]]) -> Any:
    """``text`` as rich Text with each explained word's span styled by its effect."""
    from rich.text import Text

    shown = Text(text.replace("\n", " "))
    strongest = max((abs(w["effect"]) for w in words), default=0.0)
    if strongest <= 0:
        return shown
    for word in words:
        share = abs(word["effect"]) / strongest
        shade = min(SHADES, 1 + int(share * SHADES))
        if share < 0.15:
            continue  # weak words stay plain, so the strong ones stand out
        colour = "green" if word["effect"] > 0 else "red"
        style = f"bold {colour}" if shade >= SHADES - 1 else colour
        shown.stylize(style, word["start"], word["end"])
    return shown
