"""Default label vocabulary for zero-shot image labels (``caption_from_context``).

No ImageNet class names ship offline here, so image labels come from a cross-modal
encoder (``lit:NAME``, CLIP) scoring an image against short label texts. These are
common visual concepts of web photos: people, animals, things, places, activities.
A recipe may pass its own list instead.
"""

from __future__ import annotations

_TEXT = """
man, woman, boy, girl, child, baby, people, crowd, family, couple, team, player,
climber, skier, snowboarder, surfer, swimmer, cyclist, runner, dancer, musician,
worker, police officer, dog, puppy, cat, horse, cow, sheep, goat, bird, duck, chicken,
fish, bear, elephant, giraffe, zebra, monkey, camel, deer, car, truck, bus, bicycle,
motorcycle, train, boat, airplane, helicopter, tractor, skateboard, surfboard,
snowboard, skis, kayak, ball, frisbee, kite, tennis racket, baseball bat, football,
soccer ball, basketball, umbrella, backpack, bag, hat, helmet, sunglasses, jacket,
dress, shirt, uniform, costume, table, chair, bench, sofa, bed, desk, computer,
phone, camera, book, newspaper, sign, flag, bottle, cup, glass, plate, food, pizza,
cake, fruit, ice cream, sandwich, guitar, drum, microphone, tree, flower, grass,
field, forest, mountain, hill, rock, cliff, cave, desert, sand, beach, ocean, wave,
lake, river, waterfall, swimming pool, fountain, snow, ice, sky, clouds, sunset,
street, road, sidewalk, bridge, building, house, church, tower, city, park,
playground, garden, fence, wall, stairs, door, window, shop, market, restaurant,
kitchen, stage, stadium, track, court, running, jumping, climbing, swimming, surfing,
skiing, riding, dancing, playing, singing, eating, drinking, sitting, standing,
walking, sleeping, reading
"""
VOCABULARY: tuple[str, ...] = tuple(
    dict.fromkeys(w.strip() for w in _TEXT.replace("\n", " ").split(",") if w.strip())
)
