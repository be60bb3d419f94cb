"""Run-time resources of SoulSync (stylesheet, icons, desktop entry, metainfo, distribution terms).

This folder ships inside the package as ``soulsync.resources``; read it through
:mod:`soulsync.assets`, never by a path relative to the source tree.
"""
