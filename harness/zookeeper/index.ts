// The harness that drives real Apache ZooKeeper 3.8 ensembles on loopback, by concern (see harness/README.md).
export * from './log.ts';
export * from './quorum-stream.ts';
export * from './proxy.ts';
export * from './process.ts';
export * from './jdb.ts';
export * from './ensemble.ts';
export * from './stories.ts';
