"""Images for a model: the size picked, the type sniffed, the marks in stored questions."""

from __future__ import annotations

import base64

from bot.engine.media import images
from bot.engine.media.images import Size


class TestBestSize:
    def test_largest_within_the_side(self) -> None:
        """The largest size whose longer side fits; never a larger one."""
        sizes = [Size("s", 90, 60), Size("m", 1280, 960), Size("l", 2560, 1920)]
        assert images.best_size(sizes, 2048).file_id == "m"
        assert images.best_size(sizes, 4096).file_id == "l"

    def test_smallest_when_none_fits(self) -> None:
        """When every size is too large, the smallest is sent."""
        assert images.best_size([Size("a", 500, 500), Size("b", 300, 300)], 100).file_id == "b"


class TestParts:
    def test_data_url_of_a_png(self) -> None:
        """An image part is a base64 data URL with the sniffed type."""
        png = b"\x89PNG\r\n\x1a\nrest"
        url = images.image_part(png, "image/jpeg")["image_url"]["url"]
        assert url == "data:image/png;base64," + base64.b64encode(png).decode()

    def test_marks(self) -> None:
        """A stored question says how many images it had, once."""
        assert images.marked("look", 1) == "[an image] look"
        assert images.marked("", 3) == "[3 images]"
        assert images.is_marked("[3 images] x") and not images.is_marked("an image")
