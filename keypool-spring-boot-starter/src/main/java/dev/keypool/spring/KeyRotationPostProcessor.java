package dev.keypool.spring;

import dev.keypool.rotation.ApiKeyRotator;
import dev.keypool.rotation.KeyOperationException;
import java.lang.reflect.Method;
import java.util.Arrays;
import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.springframework.aop.ProxyMethodInvocation;
import org.springframework.aop.framework.autoproxy.AbstractBeanFactoryAwareAdvisingPostProcessor;
import org.springframework.aop.support.AopUtils;
import org.springframework.aop.support.DefaultPointcutAdvisor;
import org.springframework.aop.support.annotation.AnnotationMatchingPointcut;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.util.ReflectionUtils;

/**
 * Proxies the beans that have {@link WithApiKeyRotation} methods, as Spring's own
 * {@code @Async} and {@code @Validated} are applied: the advice is added after any the bean
 * already has, so it runs innermost (see {@link WithApiKeyRotation} on resilience4j).
 */
final class KeyRotationPostProcessor extends AbstractBeanFactoryAwareAdvisingPostProcessor {

    KeyRotationPostProcessor(ObjectProvider<ApiKeyRotator> rotator) {
        this.advisor = new DefaultPointcutAdvisor(AnnotationMatchingPointcut.forMethodAnnotation(WithApiKeyRotation.class),
                new Interceptor(rotator));
        setBeforeExistingAdvisors(false);
    }

    /** A bean whose annotated method has no place for the key fails at start-up, not at its first call. */
    @Override
    public Object postProcessAfterInitialization(Object bean, String beanName) {
        ReflectionUtils.doWithMethods(AopUtils.getTargetClass(bean), method -> Interceptor.keyParameter(method),
                method -> AnnotatedElementUtils.hasAnnotation(method, WithApiKeyRotation.class));
        return super.postProcessAfterInitialization(bean, beanName);
    }

    /** Runs the method on each key in turn, through {@link ApiKeyRotator#executeWithFallback}. */
    static final class Interceptor implements MethodInterceptor {

        private final ObjectProvider<ApiKeyRotator> rotator;

        Interceptor(ObjectProvider<ApiKeyRotator> rotator) {
            this.rotator = rotator;
        }

        @Override
        public Object invoke(MethodInvocation invocation) throws Throwable {
            Method method = invocation.getMethod();
            Object target = invocation.getThis();
            Method specific = target == null ? method : AopUtils.getMostSpecificMethod(method, target.getClass());
            WithApiKeyRotation rotation = AnnotatedElementUtils.findMergedAnnotation(specific, WithApiKeyRotation.class);
            if (rotation == null) {
                return invocation.proceed();
            }
            int keyParameter = keyParameter(specific);
            if (!(invocation instanceof ProxyMethodInvocation proxied)) {
                throw new IllegalStateException("@WithApiKeyRotation needs a Spring proxy: " + method);
            }
            try {
                return rotator.getObject().executeWithFallback(rotation.provider(), reservation -> {
                    Object[] arguments = Arrays.copyOf(invocation.getArguments(), invocation.getArguments().length);
                    arguments[keyParameter] = reservation.apiKey();
                    try {
                        return proxied.invocableClone(arguments).proceed();
                    } catch (Exception | Error e) {
                        throw e;
                    } catch (Throwable t) {
                        throw new KeyOperationException(t.getMessage(), t);
                    }
                }, rotation.tokensNeeded(), rotation.model().isEmpty() ? null : rotation.model());
            } catch (KeyOperationException e) {
                // the method's own checked exception, which it declares: thrown as it is
                if (e.getCause() instanceof Exception cause && !(cause instanceof RuntimeException)
                        && declares(specific, cause)) {
                    throw cause;
                }
                throw e;
            }
        }

        /** The parameter marked {@link PooledKey}, else the first, which must be a {@code String}. */
        static int keyParameter(Method method) {
            var parameters = method.getParameters();
            for (int i = 0; i < parameters.length; i++) {
                if (parameters[i].isAnnotationPresent(PooledKey.class)) {
                    if (parameters[i].getType() != String.class) {
                        throw new IllegalStateException("@PooledKey parameter of " + method + " must be a String");
                    }
                    return i;
                }
            }
            if (parameters.length == 0 || parameters[0].getType() != String.class) {
                throw new IllegalStateException("@WithApiKeyRotation method " + method
                        + " needs a String parameter for the key: its first, or one marked @PooledKey");
            }
            return 0;
        }

        private static boolean declares(Method method, Exception cause) {
            for (Class<?> declared : method.getExceptionTypes()) {
                if (declared.isInstance(cause)) {
                    return true;
                }
            }
            return false;
        }
    }
}
