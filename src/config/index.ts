export { loadConfig, ConfigError, CONFIG_FILE, type LoadedConfig, type LoadOptions } from './load.ts';
export { SETTINGS, SETTING_KEYS, BASE_SETS, OUTPUT_FORMATS, envName, type Config, type SettingKey } from './settings.ts';
export { formatConfig, configToJson, settingsHelp } from './show.ts';
