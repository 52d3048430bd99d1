export { loadConfig, ConfigError, CONFIG_FILE, CONFIG_DROPINS, LOCAL_FILE, PRIVATE_FILE, PROFILES_DIR, type LoadedConfig, type LoadOptions } from './load.ts';
export { SETTINGS, SETTING_KEYS, BASE_SETS, OUTPUT_FORMATS, envName, type Config, type SettingKey, type SettingSection, type OutputFormat } from './settings.ts';
export { formatConfig, configToJson, publicConfig, settingsHelp, type ShownConfig } from './show.ts';
export { fileNameProblem, hostnameProblem, userNameProblem, urlProblem, urlPatternProblem } from './name-kinds.ts';
