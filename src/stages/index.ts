import type { StageName } from "../config/pipeline.js";
import type { StageFactory } from "../pipeline/stage.js";
import { deliverStage } from "./deliver/deliver.js";
import { persistStage } from "./persist/persist.js";
import { routeStage } from "./route/route.js";
import { validateStage } from "./validate/validate.js";

export const STAGE_FACTORIES: Readonly<Record<StageName, StageFactory>> = Object.freeze({
  validate: validateStage,
  route: routeStage,
  deliver: deliverStage,
  persist: persistStage,
});
