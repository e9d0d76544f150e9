package dev.keypool.adapter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The pipe between the relay's thread and the framework's: bounded, and an abandoned read stops the writer. */
class ChunkPipeTest {

    @Test
    void aReaderThatCloses_failsTheWriterWaitingForRoom() throws Exception {
        // regression: the first version read a byte before closing, which made room for the writer
        // when it had not yet begun, so its write succeeded and the test depended on timing
        ChunkPipe pipe = new ChunkPipe();
        OutputStream out = pipe.output();
        InputStream in = pipe.input();
        out.write(new byte[ChunkPipe.MAX_BYTES]);
        CompletableFuture<Throwable> blocked = CompletableFuture.supplyAsync(() -> {
            try {
                out.write(new byte[1]);
                return null;
            } catch (IOException e) {
                return e;
            }
        });

        // full: the writer waits for room (or has not begun); either way the close is what it meets
        in.close();

        assertThat(blocked.get(30, TimeUnit.SECONDS)).isInstanceOf(IOException.class);
    }

    @Test
    void aFailure_reachesTheReaderAfterWhatCameBeforeIt() throws IOException {
        ChunkPipe pipe = new ChunkPipe();
        pipe.output().write("data: 1\n\n".getBytes());
        pipe.fail(new IllegalStateException("stream cut"));

        InputStream in = pipe.input();
        assertThat(in.readNBytes(9)).isEqualTo("data: 1\n\n".getBytes());
        assertThatThrownBy(in::read).isInstanceOf(IOException.class).hasMessageContaining("stream cut");
    }

    @Test
    void theWriterClosing_isTheEndOfTheBody() throws IOException {
        ChunkPipe pipe = new ChunkPipe();
        pipe.output().write(new byte[] {1, 2});
        pipe.output().close();

        assertThat(pipe.input().readAllBytes()).containsExactly(1, 2);
    }
}
