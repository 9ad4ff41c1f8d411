import HashRing from 'hashring';
import { MemcachedNode, type MemcachedNodeOptions } from './memcached-node.ts';

/** One cluster as configured: its name, its zone, its nodes' `host:port`. */
export interface MemcachedClusterSpec {
  name: string;
  zone: string;
  nodes: readonly string[];
  /** Salts every key before hashing; default the cluster's name. */
  salt?: string;
}

/**
 * One memcached cluster: a set of nodes with keys spread over them by ketama consistent hashing
 * (the `hashring` library: MD5, 160 points per node, as libketama and most memcached clients
 * place them). A node's points come from its position in the list (`node0`, `node1` …, as
 * Twemproxy's named servers), not its address, so a node replaced on a new address keeps its keys.
 * Clusters of the same size would then put the same keys on their node 0, so each cluster salts
 * the key (with its name) before hashing: losing node 0 of two clusters loses about 1/(M·N) of
 * the keys in both, not 1/M.
 */
export class MemcachedCluster {
  readonly name: string;
  readonly zone: string;
  readonly nodes: readonly MemcachedNode[];
  private readonly ring: HashRing;
  private readonly byName: ReadonlyMap<string, MemcachedNode>;
  private readonly salt: string;

  constructor(spec: MemcachedClusterSpec, nodeOptions: (address: string) => MemcachedNodeOptions) {
    if (spec.nodes.length === 0) throw new RangeError(`memcached cluster ${spec.name} has no nodes`);
    this.name = spec.name;
    this.zone = spec.zone;
    this.salt = `${spec.salt ?? spec.name}:`;
    this.nodes = spec.nodes.map((address) => new MemcachedNode(nodeOptions(address)));
    this.byName = new Map(this.nodes.map((node, i) => [`node${i}`, node]));
    this.ring = new HashRing([...this.byName.keys()], 'md5', { 'max cache size': 10_000 });
  }

  /** The node that holds `key` in this cluster (whether it is up or not: keys never move when one fails). */
  nodeFor(key: string): MemcachedNode {
    const node = this.byName.get(this.ring.get(this.salt + key));
    if (node === undefined) throw new Error(`hash ring of ${this.name} named an unknown node`);
    return node;
  }

  close(): void {
    for (const node of this.nodes) node.close();
  }
}
