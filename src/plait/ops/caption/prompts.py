"""Prompt templates of the caption operators, each with a hash for provenance.

A template is a system instruction, a few worked examples (given as earlier chat
turns: small models follow a shown pattern far better than a described one) and the
user turn with ``{fields}``. Its :attr:`Template.hash` goes into every generated slot's
provenance and (through the rendered prompt) into the generation cache key, so
changing a word of a template is a new template: nothing generated with the old one
is reused for it, and ``plait why`` says which one made a caption.

The rewrite styles follow LaCLIP's idea (several rewriting sources, each shown by
example, keep the content and vary the wording); the examples are our own, not taken
from any evaluation set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from plait.generators.base import ImagePart, Message, Part, Prompt


@dataclass(frozen=True)
class Template:
    name: str
    system: str
    examples: tuple[tuple[str, str], ...]
    user: str  # format string over the fields render() is given

    @property
    def hash(self) -> str:
        blob = json.dumps([self.system, self.examples, self.user], ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]

    def with_system(self, system: str | None) -> Template:
        """The same template with another instruction (a recipe's own wording)."""
        if not system:
            return self
        return Template(self.name, system, self.examples, self.user)

    def render(self, images: Sequence[ImagePart] = (), **fields: str) -> Prompt:
        msgs = [Message("system", self.system)]
        for user, answer in self.examples:
            msgs += [Message("user", user), Message("assistant", answer)]
        text = self.user.format(**fields)
        content: str | list[Part] = [*images, text] if images else text
        msgs.append(Message("user", content))
        return Prompt(msgs)


_REWRITE = (
    "You rewrite image captions. {how} Keep every person, object, colour, number, action "
    "and place of the caption and add nothing that it does not say. Answer with the new "
    "caption only."
)

REWRITE_STYLES: dict[str, Template] = {
    t.name: t
    for t in (
        Template(
            "reword",
            _REWRITE.format(how="Say the same thing in different words."),
            (
                (
                    "Caption: a brown horse eating grass next to a wooden fence",
                    "A brown horse grazes beside a wooden fence.",
                ),
                (
                    "Caption: Two men in dark suits shake hands on a stage .",
                    "On a stage, two men wearing dark suits are shaking hands.",
                ),
                (
                    "Caption: little girl with a red umbrella walking in the rain",
                    "A small girl walks through the rain under a red umbrella.",
                ),
            ),
            "Caption: {caption}",
        ),
        Template(
            "place_first",
            _REWRITE.format(how="Start the new caption with where the scene takes place."),
            (
                (
                    "Caption: A woman reads a book on a train .",
                    "On a train, a woman is reading a book.",
                ),
                (
                    "Caption: two cats sleeping together on a sunny windowsill",
                    "On a sunny windowsill, two cats sleep side by side.",
                ),
                (
                    "Caption: A surfer rides a large wave in the ocean .",
                    "In the ocean, a surfer is riding a large wave.",
                ),
            ),
            "Caption: {caption}",
        ),
        Template(
            "simple",
            _REWRITE.format(how="Write it as one short, plain sentence."),
            (
                (
                    "Caption: An elderly gentleman wearing a tweed cap sits upon a park "
                    "bench feeding a flock of pigeons .",
                    "An old man in a cap feeds pigeons from a park bench.",
                ),
                (
                    "Caption: a group of young children in colourful swimsuits splash "
                    "around in a shallow fountain",
                    "Young children in colourful swimsuits play in a fountain.",
                ),
                (
                    "Caption: A red sports car is speeding down a wet road past tall trees",
                    "A red sports car speeds along a wet road by tall trees.",
                ),
            ),
            "Caption: {caption}",
        ),
        Template(
            "fluent",
            _REWRITE.format(how="Write it as one fluent, complete sentence with correct grammar."),
            (
                (
                    "Caption: man on bike doing jump dirt track",
                    "A man on a bike is jumping on a dirt track.",
                ),
                ("Caption: dog catches frisbee park", "A dog catches a frisbee in a park."),
                (
                    "Caption: three kids sitting on steps eating ice cream cones",
                    "Three kids are sitting on some steps, eating ice cream cones.",
                ),
            ),
            "Caption: {caption}",
        ),
    )
}

CONTEXT = Template(
    "context",
    "You write one caption for a photo from what is known about it: its alt-text, the "
    "text printed in it and the objects a detector saw (and the photo itself when you "
    "can see it). Describe what the photo shows in one plain sentence. Use only these "
    "facts; do not invent names, numbers or text. Answer with the caption only.",
    (
        (
            "Alt-text: IMG_2231 beach day!!\nText in the image: (none)\n"
            "Objects seen: dog, beach, frisbee",
            "A dog plays with a frisbee on a beach.",
        ),
        (
            "Alt-text: (none)\nText in the image: OPEN 24 HOURS\n"
            "Objects seen: shop front, street, person",
            'A person walks past a shop front with an "OPEN 24 HOURS" sign.',
        ),
    ),
    "Alt-text: {alt}\nText in the image: {ocr}\nObjects seen: {labels}",
)

JUDGE = Template(
    "judge",
    "You grade image captions from 1 to 5 for how well they describe a photo. "
    "1: says nothing about what is seen (a file name, an advert, noise). 2: vague. "
    "3: names the main subject. 4: subject and action or place. 5: specific about who, "
    "what and where. Answer with the digit only.",
    (
        ("Caption: DSC_0042.JPG", "1"),
        ("Caption: A dog.", "3"),
        ("Caption: A black dog with a red collar runs along a sandy beach.", "5"),
    ),
    "Caption: {caption}",
)

JUDGE_IMAGE = Template(
    "judge_image",
    "You grade how well a caption describes the photo you are shown, from 1 to 5. "
    "1: wrong or unrelated. 2: partly wrong. 3: right about the main subject only. "
    "4: right about subject and action or place. 5: accurate and specific. Answer with "
    "the digit only.",
    (),
    "Caption: {caption}",
)
