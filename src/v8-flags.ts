// V8 settings of the engine process. main.ts imports this module first, so they apply before the engine allocates
// anything of its own, whatever launches it (`npm start`, the Docker image, a test or bench harness).
//
// --no-allocation-site-pretenuring. V8 records the allocation site of young objects. When most objects from one site
// survive a scavenge, V8 "pretenures" that site: from then on it allocates them directly in the old generation. During
// a burst of concurrent calls (the bench's set-up, a traffic spike), the per-call objects of grpc-js and node:http2
// are alive at scavenge time, so V8 pretenures their sites and keeps doing so. At a steady 1,000 calls/s afterwards,
// ~7 KB of every call went straight to the old generation and died there (sampled heap profile: the grpc-js call, the
// Http2Stream, its headers). Each scavenge then took 3–6 ms instead of ~1 ms, a mark-compact ran every ~5 s, and those
// pauses were the p99 of the gRPC calls. Without pretenuring (two interleaved full bench runs each,
// docs/performance.md): the empty gRPC call's p99 at 1,000/s fell from 3.5–5.3 to 1.8–2.2 ms; Check over gRPC from 4.0–8.4
// to 3.7–3.8 ms; unary TrackEvents went from 3,240–3,256 to 3,856–3,972 calls/s with the engine's CPU per call down
// from ~150 to ~114 µs. Batched ingest did not change beyond noise.
//
// Node documents flags set at run time as unsupported in general; this one is read by the GC when it processes
// allocation feedback, so setting it before the engine's first allocations has the same effect as the command-line
// flag (measured both ways: docs/performance.md).
import v8 from 'node:v8';

v8.setFlagsFromString('--no-allocation-site-pretenuring');
