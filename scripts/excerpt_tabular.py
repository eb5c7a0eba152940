"""Writes an excerpt of the CMS ICD-10-CM tabular list XML for test fixtures: the listed
categories whole (their notes and children, as CMS publishes them), inside their chapters
and sections; everything else left out.

usage: python3 scripts/excerpt_tabular.py <tabular.xml> <out.xml> A41,E11,I10,...
(tests/fixtures/tabular-engine.xml was written from .assets/icd10cm/ this way; the
comment at its top is added by hand.)"""
import sys, xml.etree.ElementTree as ET
src, out, cats = sys.argv[1], sys.argv[2], set(sys.argv[3].split(','))
tree = ET.parse(src); root = tree.getroot()
new = ET.Element(root.tag)
v = root.find('version')
if v is not None: new.append(v)
for ch in root.findall('chapter'):
    keep_ch = None
    for sec in ch.findall('section'):
        keep = [d for d in sec.findall('diag') if d.find('name').text in cats]
        if not keep: continue
        if keep_ch is None:
            keep_ch = ET.SubElement(new, 'chapter')
            keep_ch.append(ch.find('name')); keep_ch.append(ch.find('desc'))
        s = ET.SubElement(keep_ch, 'section', sec.attrib)
        s.append(sec.find('desc'))
        for d in keep: s.append(d)
ET.indent(new, space='  ')
with open(out, 'w') as f:
    f.write('<?xml version="1.0" encoding="utf-8"?>\n')
    f.write(ET.tostring(new, encoding='unicode'))
    f.write('\n')
found = {d.find('name').text for d in new.iter('diag')}
missing = cats - found
if missing:
    sys.exit(f'categories not in {src}: {sorted(missing)}')
