#!/bin/sh
# Rebuilds the DOCX samples (tests/parse/samples/docx_*.docx) from the XML
# sources in docx_src/. Each docx_src/<name>/ holds the parts of one package;
# docx_src/common/ ([Content_Types].xml, _rels/.rels) is laid under each one
# first, so a sample only carries what it tests. docx_big.docx is generated:
# 20,000 identical paragraphs (about 1.5 MB of XML, a few KB zipped), used for
# the text-limit test. Timestamps are pinned so the output is reproducible.
#
# Usage: tests/parse/samples/make_docx.sh   (needs the zip CLI)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$here/docx_src
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

build() { # build <name> <dir with the package parts>
    find "$2" -exec touch -h -d '2024-01-01 00:00:00 UTC' {} +
    rm -f "$here/docx_$1.docx"
    (cd "$2" && zip -X -q -r "$here/docx_$1.docx" '[Content_Types].xml' $(ls -A | grep -v '^\[Content_Types\].xml$'))
}

for d in "$src"/*/; do
    name=$(basename "$d")
    [ "$name" = common ] && continue
    rm -rf "$tmp/$name"
    mkdir -p "$tmp/$name"
    cp -R "$src/common/." "$tmp/$name/"
    cp -R "$d." "$tmp/$name/"
    build "$name" "$tmp/$name"
done

mkdir -p "$tmp/big/word"
cp -R "$src/common/." "$tmp/big/"
{
    echo '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    echo '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
    i=0
    while [ $i -lt 20000 ]; do
        echo '<w:p><w:r><w:t>All work and no play makes Jack a dull boy.</w:t></w:r></w:p>'
        i=$((i + 1))
    done
    echo '</w:body></w:document>'
} > "$tmp/big/word/document.xml"
build big "$tmp/big"
