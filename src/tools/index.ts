/** Host tools: the host's, or taken from a Debian archive into kiln's tools cache (checked on every use). */
export { fetchDebianTool, type ToolRequest } from './debian-archive.ts';
export { findHostTool, type DebianArchive, type ToolSource } from './find.ts';
export { HOST_TOOLS, type HostTool, type HostToolName } from './host-tools.ts';
