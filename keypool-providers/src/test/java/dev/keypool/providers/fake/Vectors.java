package dev.keypool.providers.fake;

import java.util.Random;

/** The embeddings the fakes answer with: unit vectors drawn from the text, so one input always embeds the same. */
final class Vectors {

    private Vectors() {
    }

    static double[] unit(String text, int dimensions) {
        Random random = new Random(text.hashCode());
        double[] values = new double[dimensions];
        double norm = 0;
        for (int i = 0; i < dimensions; i++) {
            values[i] = random.nextGaussian();
            norm += values[i] * values[i];
        }
        double scale = 1 / Math.sqrt(norm);
        for (int i = 0; i < dimensions; i++) {
            values[i] *= scale;
        }
        return values;
    }
}
