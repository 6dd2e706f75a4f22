import { z } from "zod";
import type { LeaseView } from "../service/leases.js";

/** Output schemas of the lease tools. */

export const LeaseSchema = z.looseObject({
  lease_id: z.string(),
  holder: z.string(),
  resources: z.array(z.string()),
  exclusive: z.boolean(),
  reason: z.string().nullable(),
  fencing_token: z
    .number()
    .int()
    .describe(
      "Larger than every earlier grant's: show it with each write (the guard hook checks it).",
    ),
  granted_at: z.string().describe("ISO 8601."),
  expires_at: z.string().describe("ISO 8601; renew_lease before then to keep it."),
});

export const ConflictSchema = z.looseObject({
  resource: z.string().describe("The resource you asked for."),
  held: z.string().describe("The overlapping resource of the lease in the way."),
  holder: z.string(),
  lease_id: z.string(),
  expires_at: z.string().describe("ISO 8601: when it runs out unless renewed."),
  reason: z.string().nullable(),
});

export const AcquireShape = {
  lease_id: z.string().nullable().describe("Your lease; null when refused."),
  granted: z.array(z.string()).describe("Every resource asked for, or none (all or nothing)."),
  conflicts: z.array(ConflictSchema).describe("Why refused: the leases in the way."),
  fencing_token: z.number().int().nullable(),
  expires_at: z.string().nullable(),
};

/** `lease L on src/** (token 7, until T)`. */
export function leaseText(lease: LeaseView): string {
  return `lease ${lease.lease_id} on ${lease.resources.join(", ")} (${lease.exclusive ? "exclusive" : "shared"}, fencing token ${lease.fencing_token}, until ${lease.expires_at})`;
}
