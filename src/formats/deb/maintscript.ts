/** The environment dpkg gives maintainer scripts, for a non-interactive install. */
export const MAINTSCRIPT_ENV = {
  DEBIAN_FRONTEND: 'noninteractive',
  DEBCONF_NONINTERACTIVE_SEEN: 'true',
  DPKG_ADMINDIR: '/var/lib/dpkg',
  DPKG_ROOT: '',
};
