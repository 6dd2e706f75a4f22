import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { useLoad } from "../load.js";
import { Choice, DataView, Failure, Loading, Page } from "../ui.js";
import type { EventType } from "../events.js";

/** A page showing one CLI report as the server gives it, reloaded on live events. */
function Report(props: {
  title: string;
  path: string;
  liveOn: readonly EventType[];
  intro: string;
  controls?: ComponentChildren;
}) {
  const { data, error, loading, reload } = useLoad<unknown>(props.path, props.liveOn);
  return (
    <Page
      title={props.title}
      actions={
        <button type="button" onClick={reload}>
          Refresh
        </button>
      }
    >
      <p class="muted">{props.intro}</p>
      {props.controls}
      <Failure error={error} />
      <Loading loading={loading && data === undefined} />
      <div aria-live="polite">{data === undefined ? null : <DataView value={data} />}</div>
    </Page>
  );
}

const WINDOWS = ["15m", "1h", "6h", "24h", "7d"];

export function Errors() {
  const [window, setWindow] = useState("1h");
  return (
    <Report
      title="Errors"
      path={`/console/api/errors?window=${encodeURIComponent(window)}`}
      liveOn={["dead_letters"]}
      intro="What failed and why, grouped by code, stage and agent (as switchboard errors)."
      controls={
        <form class="inline" onSubmit={(e) => e.preventDefault()}>
          <Choice
            id="errors-window"
            label="Window"
            value={window}
            options={WINDOWS}
            onChange={setWindow}
          />
        </form>
      }
    />
  );
}

export const Leases = () => (
  <Report
    title="Leases"
    path="/console/api/leases"
    liveOn={["agent"]}
    intro="Who holds which lease, and until when (as switchboard leases list)."
  />
);

export const Notes = () => (
  <Report
    title="Notes"
    path="/console/api/notes"
    liveOn={[]}
    intro="The shared notes the agents keep (as switchboard notes list)."
  />
);
