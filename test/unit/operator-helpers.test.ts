import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import { duration } from "../../src/cli/options.js";
import { STAGE_NAMES } from "../../src/config/pipeline.js";
import { ADVICE, adviceFor } from "../../src/failures/advice.js";
import { ERROR_CODES } from "../../src/protocol/errors.js";
import { DEAD_LETTER_STAGES } from "../../src/protocol/tools.js";

describe("dead-letter helpers", () => {
  it("lists the stages in the tool schemas as the pipeline names them", () => {
    expect(DEAD_LETTER_STAGES).toEqual(STAGE_NAMES);
  });

  it("parses durations such as 30s, 5m, 2h and 1d, and refuses anything else", () => {
    expect(["250ms", "30s", "5m", "2h", "1d", " 0s "].map(duration)).toEqual([
      250, 30_000, 300_000, 7_200_000, 86_400_000, 0,
    ]);
    for (const bad of ["", "5", "5x", "-1h", "1.5h", "h", "99999999999999999d"]) {
      expect(() => duration(bad), bad).toThrow(InvalidArgumentError);
    }
  });
});

describe("error advice", () => {
  it("says what to do about every error code", () => {
    expect(Object.keys(ADVICE).sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [code, advice] of Object.entries(ADVICE))
      expect(advice.length, code).toBeGreaterThan(40);
    expect(adviceFor("SOMETHING_NEW")).toMatch(/newer than this switchboard/);
  });
});
