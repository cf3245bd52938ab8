/**
 * The log level every long-running command takes (`--log-level`), as a config field: one schema
 * for the server's config and the node's flags, so that neither loads the other's.
 */
import { z } from "zod";

export const LogLevelSetting = z.enum(["debug", "info", "warn", "error"]).default("info").describe(
  "debug, info, warn or error",
);
