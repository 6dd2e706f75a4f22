/**
 * Field names of an agent's record (the hash at `Keys.agent`), for the TypeScript that
 * reads and writes it and for the Lua that does (interpolated with `lua`). It lives here,
 * low, because agents/, inbox/ and the webhook pusher (stages/deliver/push.ts) all read it.
 */
export const AgentField = {
  name: "name",
  /** JSON array of capability strings. */
  capabilities: "capabilities",
  description: "description",
  /** JSON object. */
  metadata: "metadata",
  webhookUrl: "webhook_url",
  /** The secret webhook requests are signed with: made once, kept across updates. */
  webhookSecret: "webhook_secret",
  status: "status",
  /** Last contact, epoch ms. */
  lastSeen: "last_seen",
  /** Epoch ms. */
  registeredAt: "registered_at",
  /** SHA-256 of the agent's token, hex. */
  tokenHash: "token_hash",
  /**
   * SHA-256 of the token the last rotation replaced, whose token → name key may outlive
   * the rotation (a process killed half-way): rotation and unregistration delete that key.
   */
  retiredTokenHash: "retired_token_hash",
  role: "role",
} as const;
