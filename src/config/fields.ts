import { z } from "zod";

/** A positive whole number of `what`, its errors naming the unit: "a positive number of bytes". */
export const positiveInt = (what: string) =>
  z
    .number({
      error: (issue) =>
        issue.code === "invalid_type"
          ? `expected a positive whole number of ${what}, got ${JSON.stringify(issue.input) ?? "nothing"}`
          : undefined,
    })
    .int({ error: `expected a whole number of ${what}` })
    .positive({ error: `expected a positive number of ${what}` });

/** The name of a stream or consumer group, before the key prefix is put in front of it. */
export const streamName = z
  .string()
  .regex(
    /^[a-z][a-z0-9_-]{0,31}$/,
    "a stream or group name is lowercase letters, digits, '_' or '-'",
  );
