#!/usr/bin/env python3
"""Hostile variants of one small MP4 for the mp4_source fuzz corpus: zero-size boxes,
timescale 0, huge counts and cuts. Usage: make_seeds.py SMALL.mp4 OUT_DIR (see README.md)."""
import struct,sys
CONTAINERS={b'moov',b'trak',b'mdia',b'minf',b'stbl',b'dinf',b'edts',b'udta'}
def walk(d,off,end,depth,path,out):
    while off+8<=end:
        size,typ=struct.unpack('>I4s',d[off:off+8]); hdr=8
        if size==1: size=struct.unpack('>Q',d[off+8:off+16])[0]; hdr=16
        if size==0: size=end-off
        p=path+'/'+typ.decode('latin1')
        out.append((p,off,size,hdr))
        if typ in CONTAINERS: walk(d,off+hdr,off+size,depth+1,p,out)
        elif typ==b'stsd': walk(d,off+hdr+8,off+size,depth+1,p,out)
        elif typ==b'avc1': walk(d,off+hdr+78,off+size,depth+1,p,out)
        elif typ==b'dref': walk(d,off+hdr+8,off+size,depth+1,p,out)
        off+=size
    return out
import struct, sys
src = open(sys.argv[1], 'rb').read(); out = sys.argv[2]
boxes = {p: (o, s, h) for p, o, s, h in walk(src, 0, len(src), 0, '', [])}
def patch(name, path, rel, val):
    d = bytearray(src); o, s, h = boxes[path]; struct.pack_into('>I', d, o + rel, val)
    open(f'{out}/{name}.mp4', 'wb').write(d)
patch('zero_mvhd', '/moov/mvhd', 0, 0)
patch('zero_dref', '/moov/trak/mdia/minf/dinf/dref', 0, 0)
patch('zero_stsz', '/moov/trak/mdia/minf/stbl/stsz', 0, 0)
patch('mdhd_timescale0', '/moov/trak/mdia/mdhd', 20, 0)
patch('mvhd_timescale0', '/moov/mvhd', 20, 0)
patch('stts_count_max', '/moov/trak/mdia/minf/stbl/stts', 16, 0xFFFFFFFF)
patch('stts_entries_max', '/moov/trak/mdia/minf/stbl/stts', 12, 0xFFFFFFFF)
patch('stsc_per_chunk_max', '/moov/trak/mdia/minf/stbl/stsc', 20, 0xFFFFFFFF)
patch('stco_entries_max', '/moov/trak/mdia/minf/stbl/stco', 12, 0xFFFFFFFF)
patch('stsz_entries_max', '/moov/trak/mdia/minf/stbl/stsz', 16, 0xFFFFFFFF)
patch('ctts_count_max', '/moov/trak/mdia/minf/stbl/ctts', 16, 0xFFFFFFFF)
patch('elst_entries_max', '/moov/trak/edts/elst', 12, 0xFFFFFFFF)
o = boxes['/moov'][0]
open(f'{out}/cut_in_moov.mp4', 'wb').write(src[:o + 200])
open(f'{out}/cut_in_mdat.mp4', 'wb').write(src[:boxes['/mdat'][0] + 100])
