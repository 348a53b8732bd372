#!/usr/bin/env python3
"""scripts/nupkg.py LAYOUT OUT.nupkg: zips a NuGet package layout into a .nupkg (owned by scripts).

LAYOUT is what bindings/csharp/pack-layout.sh assembles (Ucwa.nuspec, README.md, lib/,
runtimes/). A .nupkg is an OPC zip: the files at their package paths, the nuspec at the root
(without its <files> list, which only tells `nuget pack` where to find them), `_rels/.rels`
naming the nuspec as the package's manifest, `[Content_Types].xml` with a content type for
every extension in the package, and the core properties NuGet writes
(`package/services/metadata/core-properties/*.psmdcp`). This is what `nuget pack` / `dotnet
pack` write; the .NET SDK is not on this machine, and Debian's nuget client (2.8, 2015) would
pull in a second Mono stack for one zip.
"""

from __future__ import annotations

import re
import sys
import uuid
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

NS = "http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd"


def main(layout: Path, out: Path) -> None:
    nuspec_path = next(layout.glob("*.nuspec"))
    ET.register_namespace("", NS)
    tree = ET.parse(nuspec_path)
    package = tree.getroot()
    files = package.find(f"{{{NS}}}files")
    assert files is not None, "the nuspec lists its files"
    entries = [(layout / f.get("src"), f.get("target")) for f in files]
    package.remove(files)
    meta = package.find(f"{{{NS}}}metadata")
    pid = meta.findtext(f"{{{NS}}}id")
    version = meta.findtext(f"{{{NS}}}version")
    description = meta.findtext(f"{{{NS}}}description")
    authors = meta.findtext(f"{{{NS}}}authors")
    nuspec = ET.tostring(package, encoding="utf-8", xml_declaration=True)

    members: dict[str, bytes] = {f"{pid}.nuspec": nuspec}
    for src, target in entries:
        assert src.is_file(), f"{src} is listed in the nuspec but missing"
        path = f"{target}/{src.name}" if target else src.name
        members[path] = src.read_bytes()

    psmdcp = f"package/services/metadata/core-properties/{uuid.uuid4().hex}.psmdcp"
    members[psmdcp] = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<coreProperties xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns="http://schemas.openxmlformats.org/package/2006/metadata/core-properties">'
        f"<dc:creator>{authors}</dc:creator><dc:description>{description}</dc:description>"
        f"<dc:identifier>{pid}</dc:identifier><version>{version}</version>"
        "<lastModifiedBy>scripts/nupkg.py</lastModifiedBy></coreProperties>"
    ).encode()
    members["_rels/.rels"] = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Type="http://schemas.microsoft.com/packaging/2010/07/manifest" '
        f'Target="/{pid}.nuspec" Id="R{uuid.uuid4().hex[:16].upper()}" />'
        '<Relationship Type="http://schemas.openxmlformats.org/package/2006/relationships/'
        f'metadata/core-properties" Target="/{psmdcp}" Id="R{uuid.uuid4().hex[:16].upper()}" />'
        "</Relationships>"
    ).encode()
    types = {
        "rels": "application/vnd.openxmlformats-package.relationships+xml",
        "psmdcp": "application/vnd.openxmlformats-package.core-properties+xml",
    }
    defaults = "".join(
        f'<Default Extension="{ext}" ContentType="{types.get(ext, "application/octet")}" />'
        for ext in sorted({re.sub(r".*\.", "", Path(m).name) for m in members})
    )
    members["[Content_Types].xml"] = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f"{defaults}</Types>"
    ).encode()

    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name in ["[Content_Types].xml", "_rels/.rels", f"{pid}.nuspec"]:
            z.writestr(name, members.pop(name))
        for name in sorted(members):
            z.writestr(name, members[name])


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
