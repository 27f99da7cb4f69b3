"""The Japanese font for browsers that have none (a fresh Linux desktop, headless Chromium).

The package already ships IPAexGothic for the PDF agreement (`leadclock/fonts`); the stylesheet
names it last, for CJK code points only (`unicode-range`), so a browser downloads it only when the
page has Japanese text and no installed font before it in the list covers it.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

router = APIRouter(include_in_schema=False)


@router.get("/ui/fonts/ipaexg.ttf")
def japanese_font() -> Response:
    path = files("leadclock.fonts").joinpath("ipaexg.ttf")
    return FileResponse(str(path), media_type="font/ttf",
                        headers={"Cache-Control": "public, max-age=604800"})
