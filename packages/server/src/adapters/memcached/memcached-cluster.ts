import HashRing from 'hashring';
import { MemcachedNode, type MemcachedNodeOptions } from './memcached-node.ts';

/** One cluster as configured: its name (also its hash salt), its zone, its nodes' `host:port`. */
export interface MemcachedClusterSpec {
  name: string;
  zone: string;
  nodes: readonly string[];
}

/**
 * One memcached cluster: a set of nodes with keys spread over them by ketama consistent hashing
 * (the `hashring` library: MD5, 160 points per node, as libketama and most memcached clients
 * place them). Each cluster salts the key with its name before hashing, so clusters with the same
 * number of nodes do not put the same keys on their node 0: losing node 0 of two clusters loses
 * about 1/(M·N) of the keys in both, not 1/M.
 */
export class MemcachedCluster {
  readonly name: string;
  readonly zone: string;
  readonly nodes: readonly MemcachedNode[];
  private readonly ring: HashRing;
  private readonly byAddress: ReadonlyMap<string, MemcachedNode>;
  private readonly salt: string;

  constructor(
    spec: MemcachedClusterSpec,
    nodeOptions: (address: string) => MemcachedNodeOptions,
  ) {
    if (spec.nodes.length === 0) throw new RangeError(`memcached cluster ${spec.name} has no nodes`);
    this.name = spec.name;
    this.zone = spec.zone;
    this.salt = `${spec.name}:`;
    this.nodes = spec.nodes.map((address) => new MemcachedNode(nodeOptions(address)));
    this.byAddress = new Map(this.nodes.map((node) => [node.address, node]));
    this.ring = new HashRing([...spec.nodes], 'md5', { 'max cache size': 10_000 });
  }

  /** The node that holds `key` in this cluster (whether it is up or not: keys never move when one fails). */
  nodeFor(key: string): MemcachedNode {
    const node = this.byAddress.get(this.ring.get(this.salt + key));
    if (node === undefined) throw new Error(`hash ring of ${this.name} named an unknown node`);
    return node;
  }

  close(): void {
    for (const node of this.nodes) node.close();
  }
}
