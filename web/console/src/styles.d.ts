/** Stylesheets imported for their effect: esbuild bundles them into app-<hash>.css. */
declare module "*.css";
