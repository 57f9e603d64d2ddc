"""The old forum's text format: volume pages (volume.py), what members may write (member_body.py).

Pure Python, no Django: the importer, the exporter and the composer all call it.
"""
