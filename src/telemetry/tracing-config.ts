/**
 * The tracing configuration of a process, read from the standard `OTEL_*` environment
 * variables: whether to trace, where to and how (OTLP over HTTP, protobuf or JSON), which
 * sampler, which propagators. No I/O and no SDK: tracing.ts starts the SDK from it.
 */

/** What spans are sent as: OTLP over HTTP, protobuf or JSON bodies. */
export type OtlpProtocol = "http/protobuf" | "http/json";
export const OTLP_PROTOCOLS: readonly OtlpProtocol[] = ["http/protobuf", "http/json"];
/** The protocol when none is set: the OpenTelemetry specification's default. @defaultValue "http/protobuf" */
export const DEFAULT_OTLP_PROTOCOL: OtlpProtocol = "http/protobuf";

/** The W3C propagators this build has (b3, jaeger and others need packages it lacks). */
export type PropagatorName = "tracecontext" | "baggage";
export const PROPAGATORS: readonly PropagatorName[] = ["tracecontext", "baggage"];
/** The propagators when `OTEL_PROPAGATORS` is unset, as the specification says. @defaultValue ["tracecontext", "baggage"] */
export const DEFAULT_PROPAGATORS: readonly PropagatorName[] = PROPAGATORS;

export type TracingConfig =
  | { enabled: false; reason: string; warnings: string[] }
  | {
      enabled: true;
      /** Where spans go (what the exporter derives from the same variables). */
      endpoint: string;
      protocol: OtlpProtocol;
      /** The sampler as configured, for the start-up line. */
      sampler: string;
      /** Whether the sampler follows the parent's decision (`parentbased_*`, the default). */
      parentBased: boolean;
      /** The propagators of the OpenTelemetry API, in order; none for `OTEL_PROPAGATORS=none`. */
      propagators: PropagatorName[];
      warnings: string[];
    };

const truthy = (value: string | undefined) => value?.trim().toLowerCase() === "true";
const given = (value: string | undefined) =>
  value === undefined || value.trim() === "" ? undefined : value.trim();
/** A comma-separated list: trimmed, lower case, without empty items or repeats. */
const listOf = (value: string | undefined) => [
  ...new Set(
    (given(value) ?? "")
      .split(",")
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name !== ""),
  ),
];

/**
 * Reads the tracing configuration. Departing from the OpenTelemetry default
 * (`OTEL_TRACES_EXPORTER` unset means `otlp`), tracing is off unless `OTEL_TRACES_EXPORTER`
 * names `otlp` or an OTLP endpoint is set: a Switchboard started with no telemetry
 * configured must not try to reach a collector on localhost.
 */
export function tracingConfig(env: NodeJS.ProcessEnv = process.env): TracingConfig {
  const warnings: string[] = [];
  if (truthy(env.OTEL_SDK_DISABLED)) {
    return { enabled: false, reason: "OTEL_SDK_DISABLED=true", warnings };
  }
  const tracesEndpoint = given(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const endpoint = given(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const exporters = listOf(env.OTEL_TRACES_EXPORTER);
  const unsupported = exporters.filter((name) => name !== "otlp" && name !== "none");
  if (unsupported.length > 0) {
    warnings.push(
      `OTEL_TRACES_EXPORTER: ${unsupported.join(", ")} not supported (only otlp); ignored`,
    );
  }
  if (exporters.includes("none")) {
    return { enabled: false, reason: "OTEL_TRACES_EXPORTER=none", warnings };
  }
  if (
    !exporters.includes("otlp") &&
    (exporters.length > 0 || (tracesEndpoint === undefined && endpoint === undefined))
  ) {
    return {
      enabled: false,
      reason: "no exporter configured (set OTEL_TRACES_EXPORTER=otlp or an OTLP endpoint)",
      warnings,
    };
  }
  return {
    enabled: true,
    endpoint:
      tracesEndpoint ??
      (endpoint === undefined
        ? "http://localhost:4318/v1/traces"
        : `${endpoint.replace(/\/+$/, "")}/v1/traces`),
    protocol: otlpProtocol(env, warnings),
    sampler: samplerText(env),
    parentBased: (given(env.OTEL_TRACES_SAMPLER) ?? "parentbased_").startsWith("parentbased_"),
    propagators: propagatorNames(env, warnings),
    warnings,
  };
}

/**
 * `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`, else
 * {@link DEFAULT_OTLP_PROTOCOL}. One this build cannot send (`grpc`) warns and falls back
 * to the default.
 */
export function otlpProtocol(env: NodeJS.ProcessEnv, warnings: string[] = []): OtlpProtocol {
  const [variable, value] = (
    [
      ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL],
      ["OTEL_EXPORTER_OTLP_PROTOCOL", env.OTEL_EXPORTER_OTLP_PROTOCOL],
    ] as const
  ).find(([, v]) => given(v) !== undefined) ?? ["", undefined];
  const protocol = given(value)?.toLowerCase();
  if (protocol === undefined) return DEFAULT_OTLP_PROTOCOL;
  const known = OTLP_PROTOCOLS.find((p) => p === protocol);
  if (known !== undefined) return known;
  warnings.push(
    `${variable}=${protocol} is not supported (supported: ${OTLP_PROTOCOLS.join(", ")}); ` +
      `spans are sent as ${DEFAULT_OTLP_PROTOCOL} (an OpenTelemetry Collector takes it on port 4318)`,
  );
  return DEFAULT_OTLP_PROTOCOL;
}

/**
 * `OTEL_PROPAGATORS`: a comma-separated list of `tracecontext` and `baggage`, or `none`;
 * unset, {@link DEFAULT_PROPAGATORS}. Others (`b3`, `jaeger`, …) warn and are left out.
 */
export function propagatorNames(env: NodeJS.ProcessEnv, warnings: string[] = []): PropagatorName[] {
  const names = listOf(env.OTEL_PROPAGATORS);
  if (names.length === 0) return [...DEFAULT_PROPAGATORS];
  const isSupported = (name: string): name is PropagatorName => PROPAGATORS.some((p) => p === name);
  const unsupported = names.filter((name) => name !== "none" && !isSupported(name));
  if (unsupported.length > 0) {
    warnings.push(
      `OTEL_PROPAGATORS: ${unsupported.join(", ")} not supported ` +
        `(supported: ${PROPAGATORS.join(", ")}, none); ignored`,
    );
  }
  if (names.includes("none")) {
    if (names.length > 1) warnings.push("OTEL_PROPAGATORS: none given: nothing is propagated");
    return [];
  }
  return names.filter(isSupported);
}

function samplerText(env: NodeJS.ProcessEnv): string {
  const sampler = given(env.OTEL_TRACES_SAMPLER) ?? "parentbased_always_on";
  const arg = given(env.OTEL_TRACES_SAMPLER_ARG);
  return sampler.includes("traceidratio") ? `${sampler} ${arg ?? "1"}` : sampler;
}
