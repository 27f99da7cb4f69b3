"""Fonts bundled for PDF output.

ipaexg.ttf is IPAex Gothic 004.01 (IPAexゴシック), unmodified, as packaged by Debian
(fonts-ipaexfont-gothic 00401-5). It is redistributed under the IPA Font License Agreement v1.0,
whose full text ships next to it (IPA_Font_License_Agreement_v1.0.txt). It is bundled so that a
plain `pip install leadclock` renders Japanese PDFs without any system font; PDFs embed only the
subset of glyphs they use.
"""
