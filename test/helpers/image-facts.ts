/** The manifest facts of a Debian bookworm amd64 test image, for the SBOM unit tests: a caller adds what it installs and plans. */
export const TEST_IMAGE_FACTS = {
  kilnVersion: '0.0.0-test',
  key: 'f'.repeat(64),
  image: { name: 'image', distribution: 'debian', release: 'bookworm', architecture: 'amd64', board: null, profiles: [] as string[] },
  config: {},
  sourceDateEpoch: 1_700_000_000,
  sourceDateEpochFrom: 'release (default)',
  fragments: {},
};
