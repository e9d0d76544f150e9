# Sourced by the bench scripts: ROOT, the repository's root, and the JDK this project builds with
# when it is installed here (JAVA_HOME, with JAVA_BIN its bin/ prefix and JAVA its java; both fall
# back to the java on the PATH).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -d /usr/lib/jvm/temurin-25-jdk-amd64 ]; then
  export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
JAVA_BIN="${JAVA_HOME:+$JAVA_HOME/bin/}"
JAVA="${JAVA_BIN}java"
