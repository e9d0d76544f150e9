package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.config.KeyId;
import dev.keypool.providers.LlmService;
import dev.keypool.redis.RedisUsageStore;
import java.io.File;
import java.lang.module.Configuration;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ResolvedModule;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The library modules as a modular application sees them (issue 13: most of the code was public
 * API): each resolves on the module path with what it requires, and exports only its API packages.
 * Judged from the built artifacts (their {@code module-info.class}), not from the sources.
 */
class LibraryModulesTest {

    /**
     * The groups the libraries' runtime dependencies come from. The class path of this test holds
     * much more (the SDKs the gateway is tested with), and a module path with all of it would not
     * resolve for reasons of its own: automatic modules pull in every other automatic module.
     */
    private static final List<String> LIBRARY_DEPENDENCIES = List.of("/io/helidon/", "/com/fasterxml/jackson/",
            "/org/slf4j/", "/io/github/cdimascio/", "/com/knuddels/", "/io/lettuce/", "/io/netty/",
            "/io/projectreactor/", "/org/reactivestreams/");

    @Test
    void theLibraryModulesResolveOnTheModulePath_fromTheirDependencies() {
        ModuleFinder modulePath = ModuleFinder.of(Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .map(Path::of).filter(LibraryModulesTest::libraryOrDependency).toArray(Path[]::new));
        Configuration resolved = ModuleLayer.boot().configuration()
                .resolve(modulePath, ModuleFinder.of(), Set.of("keypool.core", "keypool.providers", "keypool.redis"));

        assertThat(resolved.modules().stream().map(ResolvedModule::name))
                .contains("keypool.core", "keypool.providers", "keypool.redis", "com.fasterxml.jackson.databind",
                        "io.helidon.webclient.http1", "lettuce.core");
    }

    @Test
    void eachExportsOnlyItsApi() {
        assertThat(exports(KeyId.class)).containsExactlyInAnyOrder("dev.keypool.config", "dev.keypool.event",
                "dev.keypool.failure", "dev.keypool.rotation", "dev.keypool.usage");
        assertThat(exports(LlmService.class)).containsExactlyInAnyOrder("dev.keypool.providers",
                "dev.keypool.providers.relay", "dev.keypool.providers.openai", "dev.keypool.providers.gemini",
                "dev.keypool.providers.ollama", "dev.keypool.providers.serpapi")
                .doesNotContain("dev.keypool.providers.internal");
        assertThat(exports(RedisUsageStore.class)).containsExactly("dev.keypool.redis");
    }

    /** The packages the module {@code type} was loaded from exports, read from its artifact's descriptor. */
    private static Set<String> exports(Class<?> type) {
        Path artifact = Path.of(type.getProtectionDomain().getCodeSource().getLocation().getPath());
        ModuleDescriptor descriptor = ModuleFinder.of(artifact).findAll().iterator().next().descriptor();
        assertThat(descriptor.isAutomatic()).as("%s has a module-info", artifact).isFalse();
        return descriptor.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet());
    }

    /** keypool's own modules (a jar or a class directory with a descriptor), and their dependencies' jars. */
    private static boolean libraryOrDependency(Path path) {
        String name = path.toString().replace(File.separatorChar, '/');
        if (path.resolve("module-info.class").toFile().exists() || name.matches(".*/keypool-[a-z]+-[^/]*(?<!tests)\\.jar")) {
            return name.contains("keypool-");
        }
        return name.endsWith(".jar") && LIBRARY_DEPENDENCIES.stream().anyMatch(name::contains);
    }
}
