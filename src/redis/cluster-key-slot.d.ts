/** The hash-slot function ioredis uses (CRC16 of the key's hash tag, mod 16384). */
declare module "cluster-key-slot" {
  /** The hash slot of a key. */
  export default function generate(key: string | Buffer): number;
}
