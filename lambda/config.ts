/** The settings module's public names under their old path (the settings live in settings/). */
export * from './settings';
