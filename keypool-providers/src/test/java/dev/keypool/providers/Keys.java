package dev.keypool.providers;

/**
 * Test keys as long as real ones, each with a distinct mask. The dot after {@code TEST} keeps
 * them from looking like real keys to secret scanners.
 */
final class Keys {

    static final String OPENAI_0 = "sk-proj-TEST.Ab3dEf6hIj9kLm2nOp5qRs8tUv1wX-0000";
    static final String OPENAI_1 = "sk-proj-TEST.Zy9xWv8uTs7rQp6oNm5lKj4iHg3fE-1111";
    static final String OPENAI_2 = "sk-proj-TEST.Qw1eRt2yUi3oPa4sDf5gHj6kLz7xC-2222";
    static final String GEMINI_0 = "AIzaSyD-TEST.gemini0-9f8e7d6c5b4a3f2e1d-g000";
    static final String GEMINI_1 = "AIzaSyD-TEST.gemini1-1a2b3c4d5e6f7a8b9c-g111";
    static final String SERP_0 = "6f1c9a7e3b2d4f8a0c5e9b1d7a3f6c2e8b4d0a9f1c7e5b3d2a8f6c4e0b9s000";
    static final String SERP_1 = "b8d2f6a0c4e9b3d7f1a5c9e2b6d0f4a8c3e7b1d5f9a2c6e0b4d8f3a7c1e5s111";

    private Keys() {
    }
}
